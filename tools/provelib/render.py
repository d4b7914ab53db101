"""Any JSON as markdown, for reports whose shape their writers may still change: scalars as a
list of `key: value`, a list of objects as a table (the union of their keys as columns), nested
objects as nested lists. Long lists and tables are cut, saying how much was left out."""
import json

MAX_ROWS = 60
MAX_ITEMS = 20


def cell(value):
    """A value in a table cell or after `key:`, on one line."""
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(", ", ": "))
        text = text if len(text) <= 160 else text[:157] + "..."
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows):
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    md = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:MAX_ROWS]:
        md.append("| " + " | ".join(cell(row.get(key, "")) for key in columns) + " |")
    if len(rows) > MAX_ROWS:
        md.append(f"\n({len(rows) - MAX_ROWS} more rows not shown)")
    return md


def markdown(value, indent=0):
    """The lines of `value` as markdown."""
    pad = "  " * indent
    if isinstance(value, dict):
        md = []
        for key, item in value.items():
            if isinstance(item, list) and item and all(isinstance(row, dict) for row in item):
                md += [f"{pad}- {key}: {len(item)} rows", ""] + [pad + "  " + line for line in table(item)] + [""]
            elif isinstance(item, dict) and item:
                md += [f"{pad}- {key}:"] + markdown(item, indent + 1)
            elif isinstance(item, list) and len(item) > MAX_ITEMS:
                md.append(f"{pad}- {key}: {', '.join(cell(v) for v in item[:MAX_ITEMS])}, ... "
                          f"({len(item) - MAX_ITEMS} more, {len(item)} in all)")
            elif isinstance(item, list):
                md.append(f"{pad}- {key}: " + (", ".join(cell(v) for v in item) if item else "(none)"))
            else:
                md.append(f"{pad}- {key}: {cell(item)}")
        return md
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        return [pad + line for line in table(value)]
    if isinstance(value, list):
        return [f"{pad}- {cell(item)}" for item in value[:MAX_ROWS]]
    return [pad + cell(value)]
