"""How the report states a target: met, or NOT met in capitals so that it stands out."""


def met(ok):
    return "met" if ok else "NOT met"


def targets_line(verdicts):
    """verdicts: [(target, ok)] → "Targets: target: **met**; …"."""
    return "Targets: " + "; ".join(f"{text}: **{met(ok)}**" for text, ok in verdicts) + "."
