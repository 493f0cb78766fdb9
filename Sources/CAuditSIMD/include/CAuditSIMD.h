// SSE2 byte-class bitmasks for the JSON scanner.
//
// Swift has no movemask; these static inline helpers are emitted into the
// importing Swift module and inlined into its loops (see the performance notes
// in the README). SSE2 is the x86-64 baseline, so no target flags are needed.
// Other architectures get a portable scalar fallback with the same results.
#ifndef CAUDITSIMD_H
#define CAUDITSIMD_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1  // memrchr
#endif

#include <stdint.h>
#include <stddef.h>
#include <string.h>

/// libc memchr (vectorised by glibc), exposed so AuditJSON needs no Glibc import.
static inline const uint8_t *kaudit_memchr(const uint8_t *p, uint8_t c, size_t n) {
    return (const uint8_t *)memchr(p, c, n);
}

/// Starts reading the cache line at p (a hash table cell the caller will probe soon).
static inline void kaudit_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// libc memrchr: finds the last newline of a chunk.
static inline const uint8_t *kaudit_memrchr(const uint8_t *p, uint8_t c, size_t n) {
    return (const uint8_t *)memrchr(p, c, n);
}

#if defined(__SSE2__)
#include <emmintrin.h>

/// Bit i set when p[i] == c, for the 16 bytes at p.
static inline uint32_t kaudit_eq16(const uint8_t *p, uint8_t c) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)c)));
}

/// Bit i set when p[i] is '"' or '\\', for the 16 bytes at p.
static inline uint32_t kaudit_quote_or_backslash16(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(q, b));
}

/// Bit i set when p[i] is '"', '{', '}', '[' or ']', for the 16 bytes at p.
static inline uint32_t kaudit_structural16(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    __m128i f = _mm_or_si128(v, _mm_set1_epi8(0x20));  // folds '[' onto '{' and ']' onto '}'
    __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i o = _mm_cmpeq_epi8(f, _mm_set1_epi8('{'));
    __m128i c = _mm_cmpeq_epi8(f, _mm_set1_epi8('}'));
    return (uint32_t)_mm_movemask_epi8(_mm_or_si128(q, _mm_or_si128(o, c)));
}

/// The four masks a container skip needs, for the 64 bytes at p.
typedef struct {
    uint64_t quote;      // '"'
    uint64_t backslash;  // '\\'
    uint64_t open;       // '{' or '['
    uint64_t close;      // '}' or ']'
} kaudit_block_masks;

static inline uint64_t kaudit__mask64(__m128i a, __m128i b, __m128i c, __m128i d) {
    return (uint64_t)(uint32_t)_mm_movemask_epi8(a)
        | ((uint64_t)(uint32_t)_mm_movemask_epi8(b) << 16)
        | ((uint64_t)(uint32_t)_mm_movemask_epi8(c) << 32)
        | ((uint64_t)(uint32_t)_mm_movemask_epi8(d) << 48);
}

static inline kaudit_block_masks kaudit_block64(const uint8_t *p) {
    __m128i v0 = _mm_loadu_si128((const __m128i *)(p + 0));
    __m128i v1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i v2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i v3 = _mm_loadu_si128((const __m128i *)(p + 48));
    const __m128i q = _mm_set1_epi8('"');
    const __m128i bs = _mm_set1_epi8('\\');
    // '{' = 0x7B, '[' = 0x5B, '}' = 0x7D, ']' = 0x5D: they differ only in bit 0x20,
    // so OR-ing 0x20 folds each pair onto '{' and '}'.
    const __m128i fold = _mm_set1_epi8(0x20);
    const __m128i ob = _mm_set1_epi8('{');
    const __m128i cb = _mm_set1_epi8('}');
    __m128i f0 = _mm_or_si128(v0, fold), f1 = _mm_or_si128(v1, fold);
    __m128i f2 = _mm_or_si128(v2, fold), f3 = _mm_or_si128(v3, fold);
    kaudit_block_masks m;
    m.quote = kaudit__mask64(_mm_cmpeq_epi8(v0, q), _mm_cmpeq_epi8(v1, q), _mm_cmpeq_epi8(v2, q), _mm_cmpeq_epi8(v3, q));
    m.backslash = kaudit__mask64(_mm_cmpeq_epi8(v0, bs), _mm_cmpeq_epi8(v1, bs), _mm_cmpeq_epi8(v2, bs), _mm_cmpeq_epi8(v3, bs));
    m.open = kaudit__mask64(_mm_cmpeq_epi8(f0, ob), _mm_cmpeq_epi8(f1, ob), _mm_cmpeq_epi8(f2, ob), _mm_cmpeq_epi8(f3, ob));
    m.close = kaudit__mask64(_mm_cmpeq_epi8(f0, cb), _mm_cmpeq_epi8(f1, cb), _mm_cmpeq_epi8(f2, cb), _mm_cmpeq_epi8(f3, cb));
    return m;
}

#else  // portable fallback

static inline uint32_t kaudit_eq16(const uint8_t *p, uint8_t c) {
    uint32_t m = 0;
    for (int i = 0; i < 16; i++) m |= (uint32_t)(p[i] == c) << i;
    return m;
}

static inline uint32_t kaudit_quote_or_backslash16(const uint8_t *p) {
    uint32_t m = 0;
    for (int i = 0; i < 16; i++) m |= (uint32_t)(p[i] == '"' || p[i] == '\\') << i;
    return m;
}

static inline uint32_t kaudit_structural16(const uint8_t *p) {
    uint32_t m = 0;
    for (int i = 0; i < 16; i++) {
        uint8_t c = p[i], f = c | 0x20;
        m |= (uint32_t)(c == '"' || f == '{' || f == '}') << i;
    }
    return m;
}

typedef struct {
    uint64_t quote, backslash, open, close;
} kaudit_block_masks;

static inline kaudit_block_masks kaudit_block64(const uint8_t *p) {
    kaudit_block_masks m = {0, 0, 0, 0};
    for (int i = 0; i < 64; i++) {
        uint8_t c = p[i], f = c | 0x20;
        m.quote |= (uint64_t)(c == '"') << i;
        m.backslash |= (uint64_t)(c == '\\') << i;
        m.open |= (uint64_t)(f == '{') << i;
        m.close |= (uint64_t)(f == '}') << i;
    }
    return m;
}
#endif

/// The state a container skip carries from one 64-byte block to the next.
typedef struct {
    long depth;               // brackets open so far (the container's own counts)
    uint64_t prev_escaped;    // 1 when the previous block ended with an odd backslash run
    uint64_t prev_in_string;  // all ones when the previous block ended inside a string
} kaudit_container_state;

/// Skips whole 64-byte blocks of a container with AVX2, when the CPU has it.
/// Returns the offset just past the closing bracket when found, else -(bytes consumed) - 1
/// (always a multiple of 64 consumed; -1 when AVX2 is not available and nothing was done).
long kaudit_skip_container_blocks(const uint8_t *p, long len, kaudit_container_state *st);

/// A 64-bit hash of `n` bytes through AES rounds (key_hash.c): for the detector's class
/// keys, when `kaudit_has_aes()` says the CPU has the instructions (never call it otherwise).
uint64_t kaudit_key_hash_aes(const uint8_t *p, size_t n, uint64_t seed);

/// Whether the CPU has AES-NI and SSE4.1 (checked once by the caller).
int kaudit_has_aes(void);

/// One 64-byte bucket of the detector's recent-keys table, looked at in one pass: four
/// 64-bit keys at p, their four 32-bit payloads at p + 32 and their four 32-bit stamps at
/// p + 48 (p 16-byte aligned). Bits 0-3: the slots whose stamp is live (at least `horizon`,
/// which is at least 1) and whose key is `key`; bits 8-11: the slots that are free (stamp
/// below `horizon`). No branch depends on the slots, so none is mispredicted.
static inline uint32_t kaudit_recent_bucket(const void *p, uint64_t key, uint32_t horizon) {
#if defined(__SSE2__)
    const __m128i k = _mm_set1_epi64x((long long)key);
    __m128i e01 = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *)p), k);
    __m128i e23 = _mm_cmpeq_epi32(_mm_load_si128((const __m128i *)((const uint8_t *)p + 16)), k);
    // A key is equal when both of its 32-bit halves are: each half ANDed with the other.
    e01 = _mm_and_si128(e01, _mm_shuffle_epi32(e01, _MM_SHUFFLE(2, 3, 0, 1)));
    e23 = _mm_and_si128(e23, _mm_shuffle_epi32(e23, _MM_SHUFFLE(2, 3, 0, 1)));
    const uint32_t equal = (uint32_t)_mm_movemask_pd(_mm_castsi128_pd(e01))
        | (uint32_t)_mm_movemask_pd(_mm_castsi128_pd(e23)) << 2;
    // Unsigned stamp >= horizon, as signed (stamp ^ 2^31) > ((horizon - 1) ^ 2^31).
    const __m128i bias = _mm_set1_epi32((int)0x80000000u);
    const __m128i stamps = _mm_xor_si128(_mm_load_si128((const __m128i *)((const uint8_t *)p + 48)), bias);
    const __m128i live = _mm_cmpgt_epi32(stamps, _mm_xor_si128(_mm_set1_epi32((int)(horizon - 1)), bias));
    const uint32_t alive = (uint32_t)_mm_movemask_ps(_mm_castsi128_ps(live));
#else
    const uint64_t *keys = (const uint64_t *)p;
    const uint32_t *stamps = (const uint32_t *)((const uint8_t *)p + 48);
    uint32_t equal = 0, alive = 0;
    for (int i = 0; i < 4; i++) {
        equal |= (uint32_t)(keys[i] == key) << i;
        alive |= (uint32_t)(stamps[i] >= horizon) << i;
    }
#endif
    return (equal & alive) | (~alive & 0xFu) << 8;
}

/// Anchors `kaudit_find_anchor3` compares at once.
#define KAUDIT_MAX_ANCHORS 8

/// The scalar search of `kaudit_find_anchor3`, for the positions after the last whole
/// vector (and for CPUs without SSE2).
static inline long kaudit_find_anchor3_tail(
    const uint8_t *p, long n, long from, const uint8_t *anchors, int count, int fold) {
    const uint8_t f = fold ? 0x20 : 0;
    for (long i = from; i + 3 <= n; i++) {
        uint8_t a = p[i] | f, b = p[i + 1] | f, c = p[i + 2] | f;
        for (int k = 0; k < count; k++) {
            if (a == anchors[3 * k] && b == anchors[3 * k + 1] && c == anchors[3 * k + 2]) return i;
        }
    }
    return n;
}

/// The first position i >= from where the three bytes p[i], p[i+1], p[i+2] (each with bit
/// 0x20 set when `fold`) equal one of the `count` anchors (three bytes each, back to back,
/// given with bit 0x20 set when `fold`; at most KAUDIT_MAX_ANCHORS); n when there is none.
/// AVX2 when the CPU has it, else SSE2.
long kaudit_find_anchor3(const uint8_t *p, long n, long from, const uint8_t *anchors, int count, int fold);

/// `kaudit_find_anchor3` with a given code path, for tests: 0 scalar, 1 SSE2, 2 AVX2 (each
/// where the build and CPU have it, else the next one down).
long kaudit_find_anchor3_level(
    int level, const uint8_t *p, long n, long from, const uint8_t *anchors, int count, int fold);

#endif
