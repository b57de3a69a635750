/*
 * A DOUBLE of libcudart (the CUDA runtime library): NOT CUDA. Compiled by the tests
 * (tests/agent/cudart_double.py) into a shared library that the agent's ctypes layer
 * (edgetrt/agent/backends/tensorrt/cudart.py) loads in place of the real one.
 *
 * It implements the symbols the agent calls with their real C signatures, on host memory:
 * "device" allocations are malloc'd, copies are memcpy, a stream is a counter, events read the
 * host's monotonic clock. So the ctypes signatures, the pointer handling and every byte copied
 * by the agent are exercised for real; nothing here says what a GPU would do.
 *
 * Knobs, read from the environment at each call:
 *   CUDART_DOUBLE_CC=7.2        compute capability reported (default 5.3, a Jetson Nano)
 *   CUDART_DOUBLE_FAIL=cudaMalloc:2   make that call return that cudaError_t
 * double_calls(name) returns how often a call was made (for the tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int cudaError_t;

#define MAX_CALLS 32
static const char *call_names[MAX_CALLS];
static int call_counts[MAX_CALLS];
static int stream_storage;

int double_calls(const char *name) {
    for (int i = 0; i < MAX_CALLS && call_names[i]; i++)
        if (strcmp(call_names[i], name) == 0) return call_counts[i];
    return 0;
}

static cudaError_t enter(const char *name) {
    int i = 0;
    while (i < MAX_CALLS - 1 && call_names[i] && strcmp(call_names[i], name) != 0) i++;
    call_names[i] = name;
    call_counts[i]++;
    const char *fail = getenv("CUDART_DOUBLE_FAIL");
    size_t n = strlen(name);
    if (fail && strncmp(fail, name, n) == 0 && fail[n] == ':') return atoi(fail + n + 1);
    return 0;
}

const char *cudaGetErrorName(cudaError_t error) {
    switch (error) {
    case 0: return "cudaSuccess";
    case 2: return "cudaErrorMemoryAllocation";
    case 35: return "cudaErrorInsufficientDriver";
    case 100: return "cudaErrorNoDevice";
    case 101: return "cudaErrorInvalidDevice";
    default: return "cudaErrorUnknown";
    }
}

const char *cudaGetErrorString(cudaError_t error) {
    switch (error) {
    case 0: return "no error";
    case 2: return "out of memory";
    case 35: return "CUDA driver version is insufficient for CUDA runtime version";
    case 100: return "no CUDA-capable device is detected";
    case 101: return "invalid device ordinal";
    default: return "unknown error";
    }
}

cudaError_t cudaRuntimeGetVersion(int *version) { *version = 10020; return enter("cudaRuntimeGetVersion"); }
cudaError_t cudaDriverGetVersion(int *version) { *version = 10020; return enter("cudaDriverGetVersion"); }
cudaError_t cudaGetDeviceCount(int *count) { *count = 1; return enter("cudaGetDeviceCount"); }

cudaError_t cudaSetDevice(int device) {
    cudaError_t err = enter("cudaSetDevice");
    return err ? err : (device == 0 ? 0 : 101);
}

cudaError_t cudaDeviceGetAttribute(int *value, int attr, int device) {
    cudaError_t err = enter("cudaDeviceGetAttribute");
    if (err) return err;
    if (device != 0) return 101;
    int major = 5, minor = 3;
    const char *cc = getenv("CUDART_DOUBLE_CC");
    if (cc) sscanf(cc, "%d.%d", &major, &minor);
    switch (attr) {
    case 75: *value = major; break;   /* cudaDevAttrComputeCapabilityMajor */
    case 76: *value = minor; break;   /* cudaDevAttrComputeCapabilityMinor */
    case 16: *value = 1; break;       /* cudaDevAttrMultiProcessorCount */
    case 18: *value = 1; break;       /* cudaDevAttrIntegrated */
    default: *value = 0;
    }
    return 0;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    *free_bytes = (size_t)3 << 30;
    *total_bytes = (size_t)4 << 30;
    return enter("cudaMemGetInfo");
}

cudaError_t cudaMalloc(void **ptr, size_t size) {
    cudaError_t err = enter("cudaMalloc");
    if (err) return err;
    *ptr = calloc(1, size);
    return *ptr ? 0 : 2;
}

cudaError_t cudaFree(void *ptr) { free(ptr); return enter("cudaFree"); }

cudaError_t cudaMallocHost(void **ptr, size_t size) {
    cudaError_t err = enter("cudaMallocHost");
    if (err) return err;
    *ptr = calloc(1, size);
    return *ptr ? 0 : 2;
}

cudaError_t cudaFreeHost(void *ptr) { free(ptr); return enter("cudaFreeHost"); }

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, int kind) {
    cudaError_t err = enter("cudaMemcpy");
    if (!err) memcpy(dst, src, count);
    return err;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, int kind, void *stream) {
    cudaError_t err = enter("cudaMemcpyAsync");
    if (err) return err;
    if (kind != 1 && kind != 2) return 21; /* cudaErrorInvalidMemcpyDirection */
    if (stream != &stream_storage) return 400; /* cudaErrorInvalidResourceHandle */
    memcpy(dst, src, count);
    return 0;
}

cudaError_t cudaStreamCreate(void **stream) { *stream = &stream_storage; return enter("cudaStreamCreate"); }
cudaError_t cudaStreamSynchronize(void *stream) { return enter("cudaStreamSynchronize"); }
cudaError_t cudaStreamDestroy(void *stream) { return enter("cudaStreamDestroy"); }

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

cudaError_t cudaEventCreate(void **event) {
    *event = calloc(1, sizeof(double));
    return enter("cudaEventCreate");
}
cudaError_t cudaEventRecord(void *event, void *stream) { *(double *)event = now_ms(); return enter("cudaEventRecord"); }
cudaError_t cudaEventSynchronize(void *event) { return enter("cudaEventSynchronize"); }
cudaError_t cudaEventElapsedTime(float *ms, void *start, void *end) {
    *ms = (float)(*(double *)end - *(double *)start);
    return enter("cudaEventElapsedTime");
}
cudaError_t cudaEventDestroy(void *event) { free(event); return enter("cudaEventDestroy"); }
