"""How the report states a target: met, or NOT met in capitals so that it stands out; a target
judged on a confidence interval may also be one the measurement cannot tell."""


def met(ok):
    return "met" if ok else "NOT met"


def judged(interval, limit, higher_is_better):
    """A target judged on an interval (low, high) of the measure: met when the whole interval is
    on the good side of `limit`, NOT met when the whole of it is on the bad side, otherwise
    "cannot tell" (the measurement's uncertainty spans the limit)."""
    low, high = interval
    good, bad = (low >= limit, high < limit) if higher_is_better else (high <= limit, low > limit)
    return "met" if good else "NOT met" if bad else "cannot tell"


def targets_line(verdicts):
    """verdicts: [(target, ok)] → "Targets: target: **met**; …"; ok may be a verdict's text."""
    return "Targets: " + "; ".join(f"{text}: **{ok if isinstance(ok, str) else met(ok)}**"
                                   for text, ok in verdicts) + "."
