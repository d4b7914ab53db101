"""The statistics of the reports: min / median / max over a case's runs, percentiles, a
least-squares slope, and a bootstrap confidence interval of a ratio over paired rounds."""
import random
import statistics

median = statistics.median
mean = statistics.fmean


def spread(values):
    """(min, median, max)"""
    return min(values), median(values), max(values)


def medians(series):
    """{name: median} of {name: [values]}."""
    return {name: median(values) for name, values in series.items()}


def percentile(values, fraction):
    """The nearest-rank percentile: with 20 values, p99 is the largest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def variation(values):
    """The coefficient of variation: standard deviation ÷ mean."""
    return statistics.stdev(values) / mean(values)


def slope(points):
    """The least-squares slope of [(x, y)]: how fast y grows per unit of x (0 for fewer than two x)."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    if len(set(xs)) < 2:
        return 0.0
    mx, my = mean(xs), mean(ys)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)


def quiet(values, highest=False):
    """The mean of the quietest quarter of the rounds: the lowest values (or the highest, for a
    measure that other load can only lower). Other load on a shared machine only ever adds to a
    round's cost, so the quiet rounds are the closest to what the measured thing itself costs."""
    ordered = sorted(values, reverse=highest)
    return mean(ordered[:max(1, len(ordered) // 4)])


def ratio_interval(numerators, denominators, estimate=mean, confidence=0.95, resamples=10000, seed=1):
    """estimate(numerators) ÷ estimate(denominators) for two paired series (round i gave
    numerators[i] and denominators[i]) and its percentile bootstrap interval: rounds resampled with
    replacement, pairs kept together, so that a drift of the machine between rounds moves both
    alike. Seeded: the same figures give the same interval."""
    pairs = list(zip(numerators, denominators))
    draw = random.Random(seed)
    ratios = []
    for _ in range(resamples):
        sample = [pairs[draw.randrange(len(pairs))] for _ in pairs]
        ratios.append(estimate([n for n, _ in sample]) / estimate([d for _, d in sample]))
    ratios.sort()
    tail = (1 - confidence) / 2
    return (estimate(numerators) / estimate(denominators), ratios[int(tail * resamples)],
            ratios[min(resamples - 1, int((1 - tail) * resamples))])
