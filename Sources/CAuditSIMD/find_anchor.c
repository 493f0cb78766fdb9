// Finding where any of a few three-byte anchors occurs in a long text, 32 positions per
// step with AVX2 (16 with SSE2): the prefilter of a keyword search through a whole event.
//
// A keyword list such as a rule's credential words starts with a handful of distinct
// three-byte prefixes. Comparing every position of a 5 KB event with each of them takes a
// few instructions per 32 positions; the literals are then compared only where a prefix
// occurred. With `fold`, every byte has bit 0x20 set before comparing (and the anchors
// were given so): ASCII letters of either case compare alike, and the few other bytes that
// differ only in that bit may give a position the caller then rejects, never miss one.
#include "CAuditSIMD.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

__attribute__((target("avx2,bmi"))) static long kaudit_find_anchor3_avx2(
    const uint8_t *p, long n, long from, const uint8_t *anchors, int count, int fold) {
    const __m256i f = _mm256_set1_epi8(fold ? 0x20 : 0);
    __m256i a0[KAUDIT_MAX_ANCHORS], a1[KAUDIT_MAX_ANCHORS], a2[KAUDIT_MAX_ANCHORS];
    for (int k = 0; k < count; k++) {
        a0[k] = _mm256_set1_epi8((char)anchors[3 * k]);
        a1[k] = _mm256_set1_epi8((char)anchors[3 * k + 1]);
        a2[k] = _mm256_set1_epi8((char)anchors[3 * k + 2]);
    }
    long i = from;
    for (; i + 34 <= n; i += 32) {
        __m256i v0 = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + i)), f);
        __m256i v1 = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + i + 1)), f);
        __m256i v2 = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + i + 2)), f);
        __m256i any = _mm256_setzero_si256();
        for (int k = 0; k < count; k++) {
            __m256i m = _mm256_and_si256(_mm256_cmpeq_epi8(v0, a0[k]), _mm256_cmpeq_epi8(v1, a1[k]));
            any = _mm256_or_si256(any, _mm256_and_si256(m, _mm256_cmpeq_epi8(v2, a2[k])));
        }
        uint32_t bits = (uint32_t)_mm256_movemask_epi8(any);
        if (bits) return i + __builtin_ctz(bits);
    }
    return kaudit_find_anchor3_tail(p, n, i, anchors, count, fold);
}
#endif

#if defined(__SSE2__)
static long kaudit_find_anchor3_sse2(const uint8_t *p, long n, long from, const uint8_t *anchors, int count, int fold) {
    const __m128i f = _mm_set1_epi8(fold ? 0x20 : 0);
    long i = from;
    for (; i + 18 <= n; i += 16) {
        __m128i v0 = _mm_or_si128(_mm_loadu_si128((const __m128i *)(p + i)), f);
        __m128i v1 = _mm_or_si128(_mm_loadu_si128((const __m128i *)(p + i + 1)), f);
        __m128i v2 = _mm_or_si128(_mm_loadu_si128((const __m128i *)(p + i + 2)), f);
        __m128i any = _mm_setzero_si128();
        for (int k = 0; k < count; k++) {
            __m128i m = _mm_and_si128(
                _mm_cmpeq_epi8(v0, _mm_set1_epi8((char)anchors[3 * k])),
                _mm_cmpeq_epi8(v1, _mm_set1_epi8((char)anchors[3 * k + 1])));
            any = _mm_or_si128(any, _mm_and_si128(m, _mm_cmpeq_epi8(v2, _mm_set1_epi8((char)anchors[3 * k + 2]))));
        }
        uint32_t bits = (uint32_t)_mm_movemask_epi8(any);
        if (bits) return i + __builtin_ctz(bits);
    }
    return kaudit_find_anchor3_tail(p, n, i, anchors, count, fold);
}
#endif

typedef long (*kaudit_anchor_fn)(const uint8_t *, long, long, const uint8_t *, int, int);

static kaudit_anchor_fn kaudit_anchor_choose(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi")) return kaudit_find_anchor3_avx2;
#endif
#if defined(__SSE2__)
    return kaudit_find_anchor3_sse2;
#else
    return kaudit_find_anchor3_tail;
#endif
}

long kaudit_find_anchor3_level(
    int level, const uint8_t *p, long n, long from, const uint8_t *anchors, int count, int fold) {
    if (count <= 0 || count > KAUDIT_MAX_ANCHORS) return n;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (level >= 2 && kaudit_anchor_choose() == kaudit_find_anchor3_avx2)
        return kaudit_find_anchor3_avx2(p, n, from, anchors, count, fold);
#endif
#if defined(__SSE2__)
    if (level >= 1) return kaudit_find_anchor3_sse2(p, n, from, anchors, count, fold);
#endif
    return kaudit_find_anchor3_tail(p, n, from, anchors, count, fold);
}

long kaudit_find_anchor3(const uint8_t *p, long n, long from, const uint8_t *anchors, int count, int fold) {
    if (count <= 0 || count > KAUDIT_MAX_ANCHORS) return n;
    static kaudit_anchor_fn fn;  // a benign race: every thread computes the same pointer
    kaudit_anchor_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = kaudit_anchor_choose();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    return f(p, n, from, anchors, count, fold);
}
