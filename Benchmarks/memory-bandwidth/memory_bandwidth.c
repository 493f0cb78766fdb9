// The machine's memory read bandwidth, one and two threads (best of 5 over 1 GiB), so the
// framing benchmark can be read against it: framing cannot scale past what memory delivers.
// Built and run by Benchmarks/run.sh.
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static size_t N = 1UL << 30;
static unsigned char *buf;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
typedef struct { size_t a, b; long long s; } job;
__attribute__((target("avx2"))) static void *run(void *p) {
  job *j = p; __m256i acc = _mm256_setzero_si256();
  for (size_t i = j->a; i < j->b; i += 128) {
    acc = _mm256_xor_si256(acc, _mm256_load_si256((void *)(buf + i)));
    acc = _mm256_xor_si256(acc, _mm256_load_si256((void *)(buf + i + 32)));
    acc = _mm256_xor_si256(acc, _mm256_load_si256((void *)(buf + i + 64)));
    acc = _mm256_xor_si256(acc, _mm256_load_si256((void *)(buf + i + 96)));
  }
  j->s = _mm256_extract_epi64(acc, 0); return 0;
}
int main(void) {
  buf = aligned_alloc(64, N); memset(buf, 1, N);
  for (int t = 1; t <= 2; t++) {
    double best = 0;
    for (int r = 0; r < 5; r++) {
      pthread_t th[2]; job j[2];
      double t0 = now();
      for (int k = 0; k < t; k++) { j[k].a = N / t * k; j[k].b = N / t * (k + 1); pthread_create(&th[k], 0, run, &j[k]); }
      for (int k = 0; k < t; k++) pthread_join(th[k], 0);
      double gbs = N / (now() - t0) / 1e9; if (gbs > best) best = gbs;
    }
    printf("{\"bench\":\"memory_read\",\"cores\":%d,\"MBps\":%.0f}\n", t, best * 1000);
  }
}
