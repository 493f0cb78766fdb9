// Hashing the detector's event-class keys with AES rounds when the CPU has them.
//
// Every event's identity key (user, groups, address, user agent: about 200 bytes) and
// request-shape key (about 50 bytes) are hashed before the class tables are probed. The
// portable hash (`fastHash` in Swift) is one chain of 64-bit multiplies, 16 bytes per link;
// here four independent lanes each take an AES round per 16 bytes (one instruction, two
// per cycle), so a 200-byte key is three links deep instead of thirteen. Not a
// cryptographic hash: the class tables confirm equal hashes by comparing the bytes, and the
// seed is chosen at random per detector.
#include "CAuditSIMD.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <string.h>

#define KAUDIT_AES __attribute__((target("aes,sse4.1")))

KAUDIT_AES static inline __m128i kaudit_round(__m128i s, __m128i data) { return _mm_aesenc_si128(s, data); }

KAUDIT_AES static inline __m128i kaudit_load(const uint8_t *p) { return _mm_loadu_si128((const __m128i *)p); }

KAUDIT_AES uint64_t kaudit_key_hash_aes(const uint8_t *p, size_t n, uint64_t seed) {
    // Lane starts: the seed and the length, spread by constants (the fractional digits of pi).
    const __m128i key = _mm_set_epi64x((long long)seed, (long long)(seed ^ (uint64_t)n ^ 0x243F6A8885A308D3ULL));
    __m128i s0 = _mm_xor_si128(key, _mm_set_epi64x(0x13198A2E03707344LL, (long long)0xA4093822299F31D0ULL));
    __m128i s1 = _mm_xor_si128(key, _mm_set_epi64x(0x082EFA98EC4E6C89LL, 0x452821E638D01377LL));
    __m128i s2 = _mm_xor_si128(key, _mm_set_epi64x((long long)0xBE5466CF34E90C6CULL, (long long)0xC0AC29B7C97C50DDULL));
    __m128i s3 = _mm_xor_si128(key, _mm_set_epi64x(0x3F84D5B5B5470917LL, (long long)0x9216D5D98979FB1BULL));
    if (n >= 64) {
        size_t i = 0;
        for (; i + 64 <= n; i += 64) {
            s0 = kaudit_round(s0, kaudit_load(p + i));
            s1 = kaudit_round(s1, kaudit_load(p + i + 16));
            s2 = kaudit_round(s2, kaudit_load(p + i + 32));
            s3 = kaudit_round(s3, kaudit_load(p + i + 48));
        }
        if (i < n) {
            // The last 64 bytes, overlapping what was taken (no byte outside the key).
            const uint8_t *q = p + n - 64;
            s0 = kaudit_round(s0, kaudit_load(q));
            s1 = kaudit_round(s1, kaudit_load(q + 16));
            s2 = kaudit_round(s2, kaudit_load(q + 32));
            s3 = kaudit_round(s3, kaudit_load(q + 48));
        }
    } else if (n >= 16) {
        // The first and last 16 bytes, and for more than 32 the second and second-last.
        s0 = kaudit_round(s0, kaudit_load(p));
        s1 = kaudit_round(s1, kaudit_load(p + n - 16));
        if (n > 32) {
            s2 = kaudit_round(s2, kaudit_load(p + 16));
            s3 = kaudit_round(s3, kaudit_load(p + n - 32));
        }
    } else if (n > 0) {
        uint8_t block[16] = {0};
        memcpy(block, p, n);
        s0 = kaudit_round(s0, kaudit_load(block));
    }
    // Every lane into every bit: three rounds join the lanes (the first two side by side),
    // two more with the key mix them; each lane's last block is mixed by two rounds at least.
    __m128i x = kaudit_round(s0, s1);
    __m128i y = kaudit_round(s2, s3);
    x = kaudit_round(x, y);
    x = kaudit_round(x, key);
    x = kaudit_round(x, key);
    return (uint64_t)_mm_cvtsi128_si64(x) ^ (uint64_t)_mm_extract_epi64(x, 1);
}

int kaudit_has_aes(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
}
#else
uint64_t kaudit_key_hash_aes(const uint8_t *p, size_t n, uint64_t seed) {
    (void)p;
    (void)n;
    (void)seed;
    return 0;  // never called: kaudit_has_aes() is false
}

int kaudit_has_aes(void) { return 0; }
#endif
