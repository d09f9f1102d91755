# Renders extensions-cases.json's templates with Python's Jinja2 (the language's reference implementation) for the
# filters Quanta adds beyond @huggingface/jinja (count, round, d). Run: python3 extensions-oracle.py
import json
import jinja2

env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
with open("extensions-cases.json", encoding="utf-8") as f:
    spec = json.load(f)
for case in spec["cases"]:
    case["expected"] = env.from_string(case["template"]).render(**spec["data"])
with open("extensions-cases.json", "w", encoding="utf-8") as f:
    json.dump(spec, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(jinja2.__version__, len(spec["cases"]))
