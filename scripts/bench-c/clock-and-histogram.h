/*
 * The load generator's clocks (monotonic time, its own CPU) and its latency histogram: 1 µs slots up to
 * ~2.1 s. Included by loadgen.c only (one translation unit); `measuring` is loadgen.c's, set between the
 * "start" and "stop" edges of the measured window.
 */
#ifndef CLOCK_AND_HISTOGRAM_H
#define CLOCK_AND_HISTOGRAM_H

#define HIST_US (1 << 21) /* latencies up to ~2.1 s at 1 µs; longer ones land in the last slot */

static uint32_t *hist;
static uint64_t hist_count;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void record(uint64_t ns) {
  if (!measuring) return;
  uint64_t us = ns / 1000;
  hist[us >= HIST_US ? HIST_US - 1 : us]++;
  hist_count++;
}

static uint64_t percentile(double p) {
  if (hist_count == 0) return 0;
  uint64_t want = (uint64_t)(hist_count * p), seen = 0;
  for (uint64_t us = 0; us < HIST_US; us++) {
    seen += hist[us];
    if (seen > want) return us;
  }
  return HIST_US - 1;
}

#endif
