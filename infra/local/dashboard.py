"""Prints template.yaml's OperationsDashboard as its widgets' titles and metrics (JSON),
for tests/e2e/dashboard.rs: the body is parsed as CloudWatch would parse it, after
substituting each ${...} with a placeholder.

Run with the project's venv python (it has cfn-lint's template decoder):
  .tools/venv/bin/python infra/local/dashboard.py [template.yaml]
"""

import json
import re
import sys

from cfnlint.decode import decode


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    template, matches = decode(path)
    if matches:
        sys.exit(f"{path} does not parse: {matches}")
    body = template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    text, variables = body[0], body[1]
    names = set(re.findall(r"\$\{([^}]+)\}", text))
    unknown = sorted(n for n in names if not n.startswith("AWS::") and n not in variables)
    if unknown:
        sys.exit(f"the dashboard names variables it does not define: {unknown}")
    parsed = json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: "PLACEHOLDER-" + m.group(1).replace("::", "-"), text))
    widgets = []
    for w in parsed["widgets"]:
        props = w["properties"]
        metrics = []
        for line in props.get("metrics", []):
            for item in line:
                if isinstance(item, dict) and "expression" in item:
                    found = re.search(r'MetricName=\\?"(\w+)\\?"', item["expression"])
                    metrics.append(found.group(1) if found else "?")
            if isinstance(line[0], str):
                metrics.append(line[1])
        widgets.append({"type": w["type"], "title": props.get("title", ""), "metrics": metrics})
    print(json.dumps({"widgets": widgets}))


if __name__ == "__main__":
    main()
