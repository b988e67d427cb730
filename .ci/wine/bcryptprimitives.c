/*
 * Test-only shim for running ferry.exe under Wine in CI (.ci/run, tests/it/windows.rs).
 *
 * Rust's standard library gets its random bytes (HashMap seeds, ...) from ProcessPrng in
 * bcryptprimitives.dll, which every supported Windows has. Wine 8 (Debian 12's) has no
 * bcryptprimitives.dll at all, so ferry.exe would not even load. This DLL, put beside the exe,
 * provides ProcessPrng on top of RtlGenRandom (SystemFunction036 in advapi32), which Wine has.
 * It is never shipped: real Windows uses its own DLL.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

/* RtlGenRandom: exported by advapi32 under this name. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
