/*
 * A small epoll load generator for the bench suites (scripts/bench/cost.ts), so that the server under test, not
 * the generator, is what runs out of CPU. One thread, one core: the harness pins it to the other CPU.
 *
 *   loadgen rr     HOST PORT -c CONNS            request/response, one request in flight per connection
 *   loadgen cycle  HOST PORT -c IN_FLIGHT        connect, read greeting, one request, read reply, close
 *   loadgen udp    HOST PORT -c SOCKETS -k WIN   "get" datagrams, WIN outstanding per socket (closed loop)
 *   loadgen chat   HOST PORT -c CLIENTS -k WIN   client 0 sends "m" lines, WIN ahead of client 1; counts the
 *                                                 lines "<name>: m" the others receive (not joins and leaves)
 *   loadgen hold   HOST PORT -c CONNS            open CONNS, hold them idle for -d ms, then one request each
 *
 * Common: -w WARMUP_MS (default 1000), -d DURATION_MS (default 2000), -g (no greeting expected).
 * Prints "start" when the measured window opens and "stop" when it closes (the harness reads the server's
 * /proc/PID/stat at each), then one JSON line: completed, perSec, p50Us, p99Us, errors, cpuPercent (this
 * process's own user+system time over the window, as a share of one core). hold prints "opened N" instead.
 * Sources rotate over 127.0.0.2-127.0.0.250 when the target is 127.0.0.1, so connection cycles never run out of
 * ephemeral ports however many sit in TIME-WAIT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 512

enum mode { RR, CYCLE, UDP, CHAT, HOLD };
enum phase { CONNECTING, GREETING, WAITING, IDLE, DONE };

struct conn {
  int fd;
  int phase;
  uint64_t started_ns;
  /* udp: send times of the requests in flight, oldest first (replies come back in order on loopback) */
  uint64_t *sent_ns;
  int head, outstanding;
  uint64_t last_ns;
  /* chat: the last two bytes of the previous read, for a line split between reads */
  unsigned char tail[2];
};

static struct sockaddr_in target;
static int spread_sources;
static unsigned next_source;
static int epfd;
static int greeting = 1;
static int measuring;
static uint64_t completed, errors;
static const char request[] = "hello\n";

#include "clock-and-histogram.h"

static int count_newlines(const char *buf, ssize_t n) {
  int lines = 0;
  for (const char *p = buf, *end = buf + n; (p = memchr(p, '\n', end - p)) != NULL; p++) lines++;
  return lines;
}

/* Chat deliveries of the sender's "m" lines ("<name>: m\n"), not the joins and leaves around them. */
static int count_deliveries(struct conn *c, const unsigned char *buf, ssize_t n) {
  int lines = 0;
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] != '\n') continue;
    unsigned char before = i >= 1 ? buf[i - 1] : c->tail[1];
    unsigned char two_before = i >= 2 ? buf[i - 2] : i == 1 ? c->tail[1] : c->tail[0];
    lines += before == 'm' && two_before == ' ';
  }
  if (n >= 2) {
    c->tail[0] = buf[n - 2];
    c->tail[1] = buf[n - 1];
  } else if (n == 1) {
    c->tail[0] = c->tail[1];
    c->tail[1] = buf[0];
  }
  return lines;
}

static void watch(struct conn *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(epfd, op, c->fd, &ev) < 0) perror("epoll_ctl");
}

/* Starts a non-blocking connect; the connection reports EPOLLOUT once it is up. */
static int open_tcp(struct conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (spread_sources) {
    /* Port chosen at connect(), per destination, instead of at bind(): needed for many sources to share ports. */
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in source = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002u + next_source++ % 249)};
    bind(c->fd, (struct sockaddr *)&source, sizeof source);
  }
  c->started_ns = now_ns();
  c->phase = CONNECTING;
  if (connect(c->fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
    close(c->fd);
    return -1;
  }
  watch(c, EPOLLOUT | EPOLLIN, EPOLL_CTL_ADD);
  return 0;
}

/* A cycle is timed from its connect; a request/response from its request. */
static void send_request(struct conn *c, int restart_clock) {
  if (write(c->fd, request, sizeof request - 1) != (ssize_t)(sizeof request - 1)) errors++;
  if (restart_clock) c->started_ns = now_ns();
}

static void reopen(struct conn *c) {
  while (open_tcp(c) < 0) {
    errors++;
    usleep(1000);
  }
}

/* One TCP connection became readable or writable; `mode` says what the step after each line is. */
static void on_tcp(struct conn *c, uint32_t events, enum mode mode) {
  if (c->phase == CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errors++;
      close(c->fd);
      if (mode == CYCLE) reopen(c);
      else c->phase = DONE;
      return;
    }
    c->phase = GREETING;
    watch(c, EPOLLIN, EPOLL_CTL_MOD);
    if (!greeting) {
      c->phase = mode == CYCLE ? WAITING : IDLE;
      if (mode == CYCLE) send_request(c, 0);
    }
    if (!(events & EPOLLIN)) return;
  }
  char buf[16384];
  for (;;) {
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      /* The server closed (or reset) a connection we still wanted. */
      if (c->phase != DONE) errors++;
      close(c->fd);
      if (mode == CYCLE) reopen(c);
      else c->phase = DONE;
      return;
    }
    int lines = count_newlines(buf, n);
    while (lines > 0 && c->phase != DONE) {
      lines--;
      if (c->phase == GREETING) {
        if (mode != CYCLE) {
          c->phase = IDLE;
          continue;
        }
        c->phase = WAITING;
        send_request(c, 0);
      } else if (c->phase == WAITING) {
        if (measuring) completed++;
        if (mode == RR) {
          uint64_t t = now_ns();
          record(t - c->started_ns);
          send_request(c, 1);
        } else if (mode == CYCLE) {
          record(now_ns() - c->started_ns);
          close(c->fd);
          reopen(c);
          return;
        } else if (mode == HOLD) {
          c->phase = DONE; /* answered */
        }
      }
    }
  }
}

static void usage(void) {
  fprintf(stderr, "usage: loadgen rr|cycle|udp|chat|hold HOST PORT [-c N] [-k WINDOW] [-w WARMUP_MS] [-d DURATION_MS] [-g]\n");
  exit(2);
}

static int run_loop(int timeout_ms, struct epoll_event *events) {
  return epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
}

int main(int argc, char **argv) {
  if (argc < 4) usage();
  enum mode mode;
  if (!strcmp(argv[1], "rr")) mode = RR;
  else if (!strcmp(argv[1], "cycle")) mode = CYCLE;
  else if (!strcmp(argv[1], "udp")) mode = UDP;
  else if (!strcmp(argv[1], "chat")) mode = CHAT;
  else if (!strcmp(argv[1], "hold")) mode = HOLD;
  else usage();
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &target.sin_addr) != 1) usage();
  long count = 100, window = 16, warmup_ms = 1000, duration_ms = 2000;
  for (int i = 4; i < argc; i++) {
    if (!strcmp(argv[i], "-g")) greeting = 0;
    else if (i + 1 < argc && !strcmp(argv[i], "-c")) count = atol(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "-k")) window = atol(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "-w")) warmup_ms = atol(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "-d")) duration_ms = atol(argv[++i]);
    else usage();
  }
  if (count < 1 || window < 1) usage();
  spread_sources = ntohl(target.sin_addr.s_addr) == 0x7f000001u && mode != UDP;
  hist = calloc(HIST_US, sizeof *hist);
  struct conn *conns = calloc((size_t)count, sizeof *conns);
  struct epoll_event *events = calloc(MAX_EVENTS, sizeof *events);
  epfd = epoll_create1(0);
  if (!hist || !conns || !events || epfd < 0) return 1;

  if (mode == UDP) {
    for (long i = 0; i < count; i++) {
      struct conn *c = &conns[i];
      c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&target, sizeof target) < 0) return 1;
      c->sent_ns = calloc((size_t)window, sizeof *c->sent_ns);
      watch(c, EPOLLIN, EPOLL_CTL_ADD);
    }
  } else if (mode == CYCLE) {
    for (long i = 0; i < count; i++) reopen(&conns[i]);
  } else {
    /* Connect in waves of at most 256 at once, so a hold of thousands does not overflow the listen backlog. */
    for (long i = 0; i < count; i++) {
      if (open_tcp(&conns[i]) < 0) {
        errors++;
        conns[i].phase = DONE;
      }
      if (i % 256 == 255 || i == count - 1) {
        long settled = 0;
        uint64_t deadline = now_ns() + 10000000000ull;
        while (settled < i + 1 && now_ns() < deadline) {
          int n = run_loop(100, events);
          for (int e = 0; e < n; e++) on_tcp(events[e].data.ptr, events[e].events, HOLD);
          settled = 0;
          for (long j = 0; j <= i; j++) settled += conns[j].phase == IDLE || conns[j].phase == DONE;
        }
      }
    }
    /* Held connections are open and greeted; the others now begin their own loops. */
    for (long i = 0; i < count && mode == RR; i++) {
      if (conns[i].phase == IDLE) {
        conns[i].phase = WAITING;
        send_request(&conns[i], 1);
      }
    }
  }

  if (mode == HOLD) {
    long opened = 0;
    for (long i = 0; i < count; i++) opened += conns[i].phase == IDLE;
    printf("opened %ld\n", opened);
    fflush(stdout);
    uint64_t until = now_ns() + (uint64_t)duration_ms * 1000000u;
    while (now_ns() < until) {
      int n = run_loop(100, events);
      for (int e = 0; e < n; e++) on_tcp(events[e].data.ptr, events[e].events, HOLD);
    }
    measuring = 1;
    for (long i = 0; i < count; i++) {
      if (conns[i].phase != IDLE) continue;
      conns[i].phase = WAITING;
      send_request(&conns[i], 1);
    }
    uint64_t deadline = now_ns() + 10000000000ull;
    while ((long)completed < opened && now_ns() < deadline) {
      int n = run_loop(100, events);
      for (int e = 0; e < n; e++) on_tcp(events[e].data.ptr, events[e].events, HOLD);
    }
    printf("{\"opened\":%ld,\"answered\":%llu,\"errors\":%llu}\n", opened, (unsigned long long)completed, (unsigned long long)errors);
    return 0;
  }

  uint64_t t0 = now_ns();
  uint64_t warm_end = t0 + (uint64_t)warmup_ms * 1000000u, end = warm_end + (uint64_t)duration_ms * 1000000u;
  double cpu_start = 0;
  uint64_t window_start = 0;
  uint64_t sender_sent = 0, reader_seen = 0, last_progress_ns = now_ns();
  if (mode == UDP) {
    for (long i = 0; i < count; i++) {
      struct conn *c = &conns[i];
      for (long k = 0; k < window; k++) {
        send(c->fd, "get", 3, 0);
        c->sent_ns[(c->head + c->outstanding++) % window] = now_ns();
      }
      c->last_ns = now_ns();
    }
  }
  for (;;) {
    uint64_t t = now_ns();
    if (!measuring && window_start == 0 && t >= warm_end) {
      measuring = 1;
      window_start = t;
      cpu_start = cpu_s();
      printf("start\n");
      fflush(stdout);
    }
    if (measuring && t >= end) break;
    if (mode == CHAT) {
      /* Client 0 speaks; client 1's count of lines tells how far the room has got. A room that has not moved
       * for 500 ms (a line lost to a client the server dropped, say) is counted as an error and let go on. */
      if (reader_seen > sender_sent) reader_seen = sender_sent; /* cannot happen with deliveries counted exactly */
      if (sender_sent - reader_seen >= (uint64_t)window && t - last_progress_ns > 500000000u) {
        fprintf(stderr, "loadgen chat: no line reached client 1 for 500 ms (%llu sent, %llu seen)\n", (unsigned long long)sender_sent, (unsigned long long)reader_seen);
        errors++;
        reader_seen = sender_sent;
        last_progress_ns = t;
      }
      while (sender_sent - reader_seen < (uint64_t)window) {
        if (write(conns[0].fd, "m\n", 2) != 2) break;
        sender_sent++;
      }
    }
    int n = run_loop(10, events);
    for (int e = 0; e < n; e++) {
      struct conn *c = events[e].data.ptr;
      if (mode == UDP) {
        char buf[64];
        while (recv(c->fd, buf, sizeof buf, 0) > 0) {
          uint64_t now = now_ns();
          if (c->outstanding > 0) {
            record(now - c->sent_ns[c->head]);
            c->head = (c->head + 1) % window;
            c->outstanding--;
          }
          if (measuring) completed++;
          c->last_ns = now;
          send(c->fd, "get", 3, 0);
          c->sent_ns[(c->head + c->outstanding++) % window] = now;
        }
      } else if (mode == CHAT) {
        char buf[65536];
        ssize_t got;
        while ((got = read(c->fd, buf, sizeof buf)) > 0) {
          int lines = count_deliveries(c, (const unsigned char *)buf, got);
          if (c == &conns[1] && lines > 0) {
            reader_seen += lines;
            last_progress_ns = now_ns();
          }
          if (measuring && c != &conns[0]) completed += lines;
        }
        if (got == 0 || (got < 0 && errno != EAGAIN)) {
          fprintf(stderr, "loadgen chat: the server closed client %ld\n", (long)(c - conns));
          errors++;
          epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        }
      } else {
        on_tcp(c, events[e].events, mode);
      }
    }
    if (mode == UDP) {
      /* A datagram lost is a slot lost: refill a socket that heard nothing for 500 ms. */
      uint64_t now = now_ns();
      for (long i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        if (now - c->last_ns < 500000000u) continue;
        errors += (uint64_t)c->outstanding;
        c->head = 0;
        c->outstanding = 0;
        for (long k = 0; k < window; k++) {
          send(c->fd, "get", 3, 0);
          c->sent_ns[c->outstanding++] = now;
        }
        c->last_ns = now;
      }
    }
  }
  uint64_t window_end = now_ns();
  double cpu_used = cpu_s() - cpu_start;
  printf("stop\n");
  fflush(stdout);
  double elapsed_s = (window_end - window_start) / 1e9;
  printf("{\"completed\":%llu,\"perSec\":%.1f,\"p50Us\":%llu,\"p99Us\":%llu,\"errors\":%llu,\"cpuPercent\":%.1f}\n", (unsigned long long)completed,
         completed / elapsed_s, (unsigned long long)percentile(0.5), (unsigned long long)percentile(0.99), (unsigned long long)errors,
         100.0 * cpu_used / elapsed_s);
  fflush(stdout);
  return 0;
}
