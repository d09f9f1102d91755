// Validates every document of a Kubernetes manifest offline against the typed models of the npm package
// kubernetes-models (the API's OpenAPI schema compiled to validators: types, required fields, enums), since
// kubectl needs a server even for a client-side dry run. Prints one JSON line: each document as parsed, plus
// the result of validating a copy broken on purpose (so a validator that accepts anything is noticed).
// Usage: node validate.mjs MANIFEST.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { Job } from "kubernetes-models/batch/v1/Job";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";

const models = { "batch/v1 Job": Job, "v1 PersistentVolumeClaim": PersistentVolumeClaim };

function validate(document) {
    const model = models[`${document.apiVersion} ${document.kind}`];
    if (!model) {
        throw new Error(`no model for ${document.apiVersion} ${document.kind}`);
    }
    new model(document).validate();
}

const documents = parseAllDocuments(readFileSync(process.argv[2], "utf8")).map(d => {
    if (d.errors.length > 0) {
        throw new Error(d.errors[0].message);
    }
    return d.toJS();
});
documents.forEach(validate);

const broken = structuredClone(documents.find(d => d.kind === "Job"));
broken.spec.completions = "eight";
let brokenError = null;
try {
    validate(broken);
} catch (e) {
    brokenError = e.message;
}
console.log(JSON.stringify({ documents, brokenError }));
