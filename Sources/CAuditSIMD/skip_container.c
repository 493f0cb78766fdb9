// Skipping a large JSON container (an audit event's requestObject or responseObject)
// with AVX2 when the CPU has it.
//
// Same algorithm as ContainerScan in AuditJSON (JSONScanner.swift): per 64-byte block,
// bitmasks of quotes, backslashes and brackets; escaped quotes from odd-length backslash
// runs; the in-string mask as the prefix XOR of unescaped quotes (a carry-less multiply
// here); then the nesting depth, skipping whole blocks where it cannot reach zero.
// Bodies are kilobytes long, so one indirect call per body costs nothing, and AVX2 halves
// the work per block compared with the SSE2 code that Swift inlines.
#include "CAuditSIMD.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

__attribute__((target("avx2,pclmul,popcnt,bmi"))) static long kaudit_skip_container_avx2(
    const uint8_t *p, long len, kaudit_container_state *st) {
    const __m256i vq = _mm256_set1_epi8('"'), vb = _mm256_set1_epi8('\\');
    const __m256i vo = _mm256_set1_epi8('{'), vc = _mm256_set1_epi8('}');
    const __m256i fold = _mm256_set1_epi8(0x20);
    const uint64_t even = 0x5555555555555555ULL;
    long pos = 0;
    for (; pos + 64 <= len; pos += 64) {
        __m256i lo = _mm256_loadu_si256((const __m256i *)(p + pos));
        __m256i hi = _mm256_loadu_si256((const __m256i *)(p + pos + 32));
        __m256i flo = _mm256_or_si256(lo, fold), fhi = _mm256_or_si256(hi, fold);
#define KAUDIT_MASK(a, b) ((uint64_t)(uint32_t)_mm256_movemask_epi8(a) | ((uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32))
        uint64_t quote = KAUDIT_MASK(_mm256_cmpeq_epi8(lo, vq), _mm256_cmpeq_epi8(hi, vq));
        uint64_t backslash = KAUDIT_MASK(_mm256_cmpeq_epi8(lo, vb), _mm256_cmpeq_epi8(hi, vb));
        uint64_t open = KAUDIT_MASK(_mm256_cmpeq_epi8(flo, vo), _mm256_cmpeq_epi8(fhi, vo));
        uint64_t close = KAUDIT_MASK(_mm256_cmpeq_epi8(flo, vc), _mm256_cmpeq_epi8(fhi, vc));
#undef KAUDIT_MASK
        if (backslash | st->prev_escaped) {
            uint64_t bs = backslash & ~st->prev_escaped;
            uint64_t follows = (bs << 1) | st->prev_escaped;
            uint64_t odd_starts = bs & ~even & ~follows;
            uint64_t seq;
            st->prev_escaped = __builtin_add_overflow(odd_starts, bs, &seq) ? 1 : 0;
            quote &= ~((even ^ (seq << 1)) & follows);
        }
        uint64_t in_string = (uint64_t)_mm_cvtsi128_si64(
            _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)quote), _mm_set1_epi8((char)0xFF), 0));
        in_string ^= st->prev_in_string;
        st->prev_in_string = (uint64_t)((int64_t)in_string >> 63);
        open &= ~in_string;
        close &= ~in_string;
        long closes = __builtin_popcountll(close);
        if (st->depth > closes) {
            st->depth += __builtin_popcountll(open) - closes;
            continue;
        }
        uint64_t bits = open | close;
        while (bits) {
            int t = __builtin_ctzll(bits);
            if ((open >> t) & 1) {
                st->depth++;
            } else if (--st->depth <= 0) {
                return pos + t + 1;
            }
            bits &= bits - 1;
        }
    }
    return -(pos + 1);  // not found in the whole blocks: -(bytes consumed) - 1
}
#endif

static long kaudit_skip_container_none(const uint8_t *p, long len, kaudit_container_state *st) {
    (void)p;
    (void)len;
    (void)st;
    return -1;  // consumed nothing: the caller's own (SSE2) scan does the work
}

typedef long (*kaudit_skip_fn)(const uint8_t *, long, kaudit_container_state *);

static kaudit_skip_fn kaudit_skip_choose(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("popcnt")
        && __builtin_cpu_supports("bmi"))
        return kaudit_skip_container_avx2;
#endif
    return kaudit_skip_container_none;
}

long kaudit_skip_container_blocks(const uint8_t *p, long len, kaudit_container_state *st) {
    static kaudit_skip_fn fn;  // a benign race: every thread computes the same pointer
    kaudit_skip_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = kaudit_skip_choose();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    return f(p, len, st);
}
