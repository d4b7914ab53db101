"""CPU time and memory from /proc: of a process, of the kernel threads that run softirqs, of one
CPU and of the whole machine. Times in seconds (the kernel counts in ticks of 1/SC_CLK_TCK)."""
import os
import resource

TICK = os.sysconf("SC_CLK_TCK")


def process_times(pid):
    """User + system time of a process, all its threads (the dead ones too)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def process_memory(pid):
    """Its resident memory (VmRSS), kB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def thread_runtime(tid):
    """The time a thread has run so far, from the scheduler's clock (ns, not ticks): for the
    ksoftirqd threads, whose share of a short transfer is a few ticks at most."""
    with open(f"/proc/{tid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def children_times():
    """User + system time of every child reaped so far. The kernel keeps it exact (the
    scheduler's runtime, only split between user and system by ticks) and in microseconds, where
    /proc/PID/stat counts in hundredths of a second."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ksoftirqd_pids():
    """The kernel threads that run network softirqs when the CPU they were raised on is busy."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().startswith("ksoftirqd/"):
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def cpu_busy():
    """Busy CPU time of the whole machine and the part of it stolen by the hypervisor, in seconds:
    every column of /proc/stat's cpu line but idle and iowait (user, nice, system, irq, softirq,
    steal), and steal."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / TICK, fields[7] / TICK


def cpu_kernel_time(cpu):
    """Time one CPU spent in the kernel so far: system, irq and softirq (/proc/stat's cpuN line)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                fields = [int(v) for v in line.split()[1:8]]
                return (fields[2] + fields[5] + fields[6]) / TICK
    raise RuntimeError(f"no cpu{cpu} in /proc/stat")
