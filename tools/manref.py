"""make man: uplinks.yaml(5), the config reference, from the README's tables, so that the manual
and the README say the same. Reads README.md; writes dist/uplinks.yaml.5 (roff), or $MAN_OUT.

Takes the section "Configuration reference" (the top level and each uplink) and the key tables
of "Health checks" and "Services"; each table row becomes a tagged paragraph: the key, its
default, what it may be."""
import datetime
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def inline(text):
    """Markdown inline to roff: `code` bold, **strong** bold, links to their text, escapes."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"`([^`]+)`", r"\\fB\1\\fR", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    return text.replace("-", "\\-")


def lines_of(readme, heading):
    """The lines of a section, from its heading to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = readme.index(heading + "\n")
    rest = readme[start + len(heading) + 1:]
    stop = re.search(r"^#{1,%d} " % len(level), rest, re.M)
    return rest[:stop.start() if stop else len(rest)].splitlines()


def convert(lines, only_tables=False):
    out = []
    paragraph = []

    def flush():
        if paragraph and not only_tables:
            out.append(".PP")
            out.append(inline(" ".join(paragraph)))
        paragraph.clear()

    in_code = False
    for line in lines:
        if line.startswith("```"):
            flush()
            in_code = not in_code
            if not only_tables:
                out.append(".EX" if in_code else ".EE")
            continue
        if in_code:
            if not only_tables:
                out.append(line.replace("\\", "\\\\").replace("-", "\\-"))
            continue
        if line.startswith("### "):
            flush()
            out.append(".SS " + inline(line[4:]))
        elif line.startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if cells[0] == "key" or set(line) <= set("|- "):
                continue
            key, default, allowed = (cells + ["", "", ""])[:3]
            out.append(".TP")
            out.append(inline(key) + " (default: " + inline(default) + ")")
            out.append(inline(allowed))
        elif not line.strip():
            flush()
        else:
            paragraph.append(line.strip())
    flush()
    return out


def main():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    date = os.environ.get("MAN_DATE") or datetime.date.today().isoformat()
    out = [f'.TH UPLINKS.YAML 5 "{date}" "uplinkctl" "File Formats"',
           ".SH NAME", "uplinks.yaml \\- the uplinks, policies and services of uplinkctl",
           ".SH SYNOPSIS", "\\fB/etc/uplinkctl/uplinks.yaml\\fR",
           ".SH DESCRIPTION"]
    out += convert(lines_of(readme, "## Configuration reference"))
    out += [".SH HEALTH CHECKS"] + convert(lines_of(readme, "### Health checks"), only_tables=True)
    out += [".SH SERVICES"] + convert(lines_of(readme, "## Services: incoming connections over several backends"),
                                      only_tables=True)
    out += [".SH SEE ALSO",
            "\\fBuplinkctl\\fR(1); the README, for how balancing, policies, failover and services work."]
    target = os.environ.get("MAN_OUT") or os.path.join(ROOT, "dist", "uplinks.yaml.5")
    with open(target, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    sys.exit(main())
