// Renders the Jinja fixtures with @huggingface/jinja (what transformers.js uses) and writes render-cases.json.
// Copy it into a folder where `npm install @huggingface/jinja` was done and run it there:
//   TZ=UTC node oracle.mjs /path/to/Fixtures/templates/jinja
// strftime_now sees a fixed clock (2026-07-04 09:05 UTC) so the output does not depend on the day it ran.
import fs from "node:fs";
import path from "node:path";
import { Template } from "@huggingface/jinja";

const FIXED = Date.UTC(2026, 6, 4, 9, 5, 0);
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...args) { if (args.length === 0) { super(FIXED); } else { super(...args); } }
  static now() { return FIXED; }
};

const dir = process.argv[2];
const spec = JSON.parse(fs.readFileSync(path.join(dir, "cases-spec.json"), "utf8"));
const out = { data: spec.data, cases: [] };

const templateFiles = ["llama.cpp", "lenml"].flatMap(folder =>
  fs.readdirSync(path.join(dir, folder)).filter(f => f.endsWith(".jinja")).sort().map(f => `${folder}/${f}`));
const cases = [];
for (const file of templateFiles) {
  for (const conversation of spec.conversations) {
    for (const agp of [false, true]) {
      cases.push({ name: `${file.replace(/\.jinja$/, "")} ${conversation}${agp ? " +gen" : ""}`, file, data: conversation, add_generation_prompt: agp });
    }
  }
}
for (const c of spec.cases) cases.push(c);

for (const c of cases) {
  const text = c.file ? fs.readFileSync(path.join(dir, c.file), "utf8") : c.template;
  const data = { ...spec.data[c.data] };
  if (c.add_generation_prompt !== undefined) data.add_generation_prompt = c.add_generation_prompt;
  const record = { name: c.name, file: c.file ?? null, template: c.file ? null : c.template, data: c.data,
    add_generation_prompt: c.add_generation_prompt ?? null, line: c.line ?? null, expected: null, error: null };
  try {
    record.expected = new Template(text).render(data);
  } catch (e) {
    record.error = String(e.message);
  }
  out.cases.push(record);
}
fs.writeFileSync(path.join(dir, "render-cases.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`${out.cases.length} cases, ${out.cases.filter(c => c.error).length} errors`);
