// zlib, from Debian's zlib1g-dev.
#include <zlib.h>

// inflateInit2 is a macro; Swift cannot call macros, so wrap it.
static inline int kaudit_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
