/* Case 9's traffic, in C so that neither end is what limits a balancer (services.py compiles it
 * with cc into the run's scratch directory). Run inside a lab namespace.
 *
 *   svcbench serve ADDRESS PORT[,PORT...] NAME
 *       A backend: one thread, epoll, a listener per port. To each line "x" it answers "NAME\n"
 *       and closes (so the server, not the client, keeps the TIME_WAIT); to "k" it answers
 *       "NAME\n" and keeps the connection for more lines. Prints "listening" once bound.
 *   svcbench stream ADDRESS PORT
 *       Sends zeros to each connection, one at a time, until it closes. Prints "listening".
 *   svcbench load ADDRESS PORT WORKERS SECONDS COUNT RATE [SOURCES|-] [LOG|-]
 *       WORKERS threads open short connections (connect, "x\n", read the answer to the end,
 *       close) until SECONDS pass or COUNT were started; RATE > 0 paces them to RATE per second
 *       in all. SOURCES: comma-separated client addresses, taken in turn. LOG: a file that gets
 *       one line per connection: "START END RESULT BACKEND PORT" (CLOCK_MONOTONIC seconds, the
 *       clock every namespace shares; RESULT ok, refused, reset, timeout, ports or other; PORT the
 *       client's). Prints a
 *       JSON summary: connections, seconds, the backends' names with their counts, failures.
 *       With one worker the log is in the order the connections were made.
 *   svcbench sink ADDRESS PORT SECONDS OMIT
 *       One connection that reads for SECONDS; prints the Mbit/s after the first OMIT seconds.
 *
 * Bounded: COUNT is at most 2,000,000 and SECONDS at most 600; every socket call has a timeout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BACKENDS 16
#define MAX_SOURCES 64
#define MAX_COUNT 2000000L
#define TIMEOUT_MS 2000

enum result { OK, REFUSED, RESET, TIMEOUT, PORTS, OTHER, RESULTS };
static const char *result_names[RESULTS] = {"ok", "refused", "reset", "timeout", "ports", "other"};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static struct sockaddr_in endpoint(const char *address, const char *port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    if (inet_pton(AF_INET, address, &a.sin_addr) != 1) {
        fprintf(stderr, "not an IPv4 address: %s\n", address);
        exit(2);
    }
    return a;
}

static int listener(const char *address, const char *port, int flags) {
    struct sockaddr_in a = endpoint(address, port);
    int fd = socket(AF_INET, SOCK_STREAM | flags, 0), one = 1;
    if (fd < 0) die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    return fd;
}

static void listening(void) {
    printf("listening\n");
    fflush(stdout);
}

/* The backend. */

static _Noreturn void serve(const char *address, const char *ports, const char *name) {
    char answer[64], list[256];
    int length = snprintf(answer, sizeof answer, "%s\n", name);
    int ep = epoll_create1(0), listeners[16], count = 0;
    struct epoll_event events[256];
    snprintf(list, sizeof list, "%s", ports);
    for (char *save, *port = strtok_r(list, ",", &save); port && count < 16; port = strtok_r(NULL, ",", &save)) {
        listeners[count] = listener(address, port, SOCK_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = listeners[count]};
        epoll_ctl(ep, EPOLL_CTL_ADD, listeners[count++], &ev);
    }
    listening();
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd, is_listener = 0;
            for (int l = 0; l < count; l++) is_listener |= fd == listeners[l];
            if (is_listener) {
                int c;
                while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            char buffer[512];
            ssize_t got = read(fd, buffer, sizeof buffer);
            int keep = got > 0;
            for (ssize_t j = 0; j < got; j++) {
                if (buffer[j] != '\n') continue;
                if (write(fd, answer, length) != length) keep = 0;
                if (j == 0 || buffer[j - 1] != 'k') keep = 0;
            }
            if (got < 0 && (errno == EAGAIN || errno == EINTR)) keep = 1;
            if (!keep) close(fd); /* close removes it from the epoll set */
        }
    }
}

static _Noreturn void stream(const char *address, const char *port) {
    int lfd = listener(address, port, 0);
    listening();
    static char zeros[131072];
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) continue;
        struct timeval t = {.tv_sec = TIMEOUT_MS / 1000};
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
        while (write(c, zeros, sizeof zeros) > 0) {}
        close(c);
    }
}

/* The client. */

struct record {
    double start, end;
    unsigned short port;
    unsigned char result, backend;
};

static struct {
    struct sockaddr_in to;
    struct sockaddr_in sources[MAX_SOURCES];
    int source_count;
    double start, end, rate;
    long count;
    atomic_long ticket;
    pthread_mutex_t lock;
    char names[MAX_BACKENDS][64];
    int name_count;
    int log;
} load;

struct worker {
    pthread_t thread;
    struct record *records;
    long made;
    long by_backend[MAX_BACKENDS];
    long by_result[RESULTS];
};

static int backend_index(const char *name) {
    pthread_mutex_lock(&load.lock);
    int i;
    for (i = 0; i < load.name_count; i++)
        if (strcmp(load.names[i], name) == 0) break;
    if (i == load.name_count && i < MAX_BACKENDS) {
        snprintf(load.names[i], sizeof load.names[i], "%s", name);
        load.name_count++;
    }
    pthread_mutex_unlock(&load.lock);
    return i < MAX_BACKENDS ? i : MAX_BACKENDS - 1;
}

static enum result classify(int error) {
    switch (error) {
    case ECONNREFUSED: return REFUSED;
    case ECONNRESET: case EPIPE: return RESET;
    case EAGAIN: case ETIMEDOUT: case EINPROGRESS: return TIMEOUT;
    case EADDRNOTAVAIL: case EADDRINUSE: return PORTS;
    default: return OTHER;
    }
}

static unsigned short local_port(int fd) {
    struct sockaddr_in a;
    socklen_t length = sizeof a;
    return getsockname(fd, (struct sockaddr *)&a, &length) == 0 ? ntohs(a.sin_port) : 0;
}

/* One short connection: its result, in *backend the index of the name it answered, in *port
 * its client port. */
static enum result attempt(long ticket, int *backend, unsigned short *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) return classify(errno);
    struct timeval t = {.tv_sec = TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    if (load.source_count) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in *s = &load.sources[ticket % load.source_count];
        if (bind(fd, (struct sockaddr *)s, sizeof *s) < 0) goto failed;
    }
    int connected = connect(fd, (struct sockaddr *)&load.to, sizeof load.to);
    *port = local_port(fd);
    if (connected < 0) goto failed;
    if (write(fd, "x\n", 2) != 2) goto failed;
    char answer[64];
    size_t have = 0;
    for (;;) {
        ssize_t got = read(fd, answer + have, sizeof answer - 1 - have);
        if (got < 0) goto failed;
        if (got == 0) break; /* the server closed after its answer */
        have += got;
        if (have == sizeof answer - 1) break;
    }
    close(fd);
    answer[have] = 0;
    char *newline = strchr(answer, '\n');
    if (!newline) return RESET; /* closed without a whole answer */
    *newline = 0;
    *backend = backend_index(answer);
    return OK;
failed:;
    int error = errno;
    close(fd);
    return classify(error);
}

static void *work(void *argument) {
    struct worker *w = argument;
    for (;;) {
        long ticket = atomic_fetch_add(&load.ticket, 1);
        if (ticket >= load.count) break;
        if (load.rate > 0) {
            double due = load.start + ticket / load.rate;
            if (due >= load.end) break;
            double wait = due - now();
            if (wait > 0) {
                struct timespec t = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (time_t)wait) * 1e9)};
                nanosleep(&t, NULL);
            }
        }
        double started = now();
        if (started >= load.end) break;
        int backend = 0;
        unsigned short port = 0;
        enum result r = attempt(ticket, &backend, &port);
        if (r == OK) w->by_backend[backend]++;
        w->by_result[r]++;
        if (load.log) w->records[w->made] = (struct record){started, now(), port, r, r == OK ? backend : 255};
        w->made++;
    }
    return NULL;
}

static void parse_sources(const char *list) {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save, *item = strtok_r(copy, ",", &save); item && load.source_count < MAX_SOURCES;
         item = strtok_r(NULL, ",", &save))
        load.sources[load.source_count++] = endpoint(item, "0");
}

static int run_load(char **argv) {
    load.to = endpoint(argv[0], argv[1]);
    int workers = atoi(argv[2]);
    double seconds = atof(argv[3]);
    load.count = atol(argv[4]);
    load.rate = atof(argv[5]);
    if (workers < 1 || workers > 64 || seconds <= 0 || seconds > 600 || load.count < 1 || load.count > MAX_COUNT) {
        fprintf(stderr, "load: 1-64 workers, 0-600 seconds, 1-%ld connections\n", MAX_COUNT);
        return 2;
    }
    if (strcmp(argv[6], "-") != 0) parse_sources(argv[6]);
    const char *log_path = argv[7];
    load.log = strcmp(log_path, "-") != 0;
    pthread_mutex_init(&load.lock, NULL);
    struct worker *pool = calloc(workers, sizeof *pool);
    for (int i = 0; i < workers; i++)
        if (load.log && !(pool[i].records = calloc(load.count, sizeof(struct record)))) die("calloc");
    load.start = now();
    load.end = load.start + seconds;
    for (int i = 0; i < workers; i++) pthread_create(&pool[i].thread, NULL, work, &pool[i]);
    for (int i = 0; i < workers; i++) pthread_join(pool[i].thread, NULL);
    double elapsed = now() - load.start;
    long made = 0, by_backend[MAX_BACKENDS] = {0}, by_result[RESULTS] = {0};
    for (int i = 0; i < workers; i++) {
        made += pool[i].made;
        for (int b = 0; b < MAX_BACKENDS; b++) by_backend[b] += pool[i].by_backend[b];
        for (int r = 0; r < RESULTS; r++) by_result[r] += pool[i].by_result[r];
    }
    if (load.log) {
        FILE *f = fopen(log_path, "w");
        if (!f) die(log_path);
        for (int i = 0; i < workers; i++)
            for (long k = 0; k < pool[i].made; k++) {
                struct record *r = &pool[i].records[k];
                fprintf(f, "%.6f %.6f %s %s %u\n", r->start, r->end, result_names[r->result],
                        r->backend == 255 ? "-" : load.names[r->backend], r->port);
            }
        fclose(f);
    }
    printf("{\"connections\": %ld, \"seconds\": %.6f, \"backends\": {", made, elapsed);
    for (int b = 0; b < load.name_count; b++) printf("%s\"%s\": %ld", b ? ", " : "", load.names[b], by_backend[b]);
    printf("}, \"results\": {");
    for (int r = 0; r < RESULTS; r++) printf("%s\"%s\": %ld", r ? ", " : "", result_names[r], by_result[r]);
    printf("}}\n");
    return 0;
}

static int sink(char **argv) {
    struct sockaddr_in to = endpoint(argv[0], argv[1]);
    double seconds = atof(argv[2]), omit = atof(argv[3]);
    if (seconds <= omit || seconds > 600) return 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval t = {.tv_sec = TIMEOUT_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("connect");
    static char buffer[262144];
    double start = now(), from = start + omit, end = start + seconds, counted_from = 0;
    long long bytes = 0;
    for (;;) {
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got <= 0) die("read");
        double at = now();
        if (at >= end) break;
        if (at >= from) {
            if (counted_from == 0) counted_from = at;
            else bytes += got;
        }
    }
    double span = now() - counted_from;
    close(fd);
    printf("{\"mbit\": %.3f}\n", bytes * 8 / span / 1e6);
    return 0;
}

int main(int argc, char **argv) {
    /* A client that closes mid-write is a normal end of a stream, not a reason to die. */
    signal(SIGPIPE, SIG_IGN);
    if (argc == 5 && strcmp(argv[1], "serve") == 0) serve(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "stream") == 0) stream(argv[2], argv[3]);
    if (argc == 10 && strcmp(argv[1], "load") == 0) return run_load(argv + 2);
    if (argc == 6 && strcmp(argv[1], "sink") == 0) return sink(argv + 2);
    fprintf(stderr, "usage: svcbench serve ADDRESS PORT[,PORT...] NAME | stream ADDRESS PORT | "
                    "load ADDRESS PORT WORKERS SECONDS COUNT RATE SOURCES|- LOG|- | sink ADDRESS PORT SECONDS OMIT\n");
    return 2;
}
