package dev.nibble.backend.cuda;

import dev.nibble.api.backend.DeviceMemoryException;
import dev.nibble.backend.cuda.driver.CudaException;
import dev.nibble.backend.cuda.driver.Driver;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator: sizes are rounded up to a size class (powers of two split in four) and freed
 * blocks wait in a free list for the next request of their class, so a steady prepare/forward/close
 * loop stops calling cuMemAlloc after its first round. When the driver runs out of memory the cache
 * is emptied and the allocation retried once.
 */
final class DevicePool {
    private static final long MIN = 512;
    private final Driver driver;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private final Map<Long, Long> live = new HashMap<>();
    private long cachedBytes;
    private long liveBytes;

    DevicePool(Driver driver) {
        this.driver = driver;
    }

    static long sizeClass(long bytes) {
        long b = Math.max(MIN, bytes);
        long p = Long.highestOneBit(b);
        if (p == b) {
            return b;
        }
        long quarter = p / 4;
        return (b + quarter - 1) / quarter * quarter;
    }

    synchronized long allocate(long bytes) {
        long size = sizeClass(bytes);
        ArrayDeque<Long> q = free.get(size);
        long ptr;
        if (q != null && !q.isEmpty()) {
            ptr = q.pop();
            cachedBytes -= size;
        } else {
            try {
                ptr = driver.malloc(size);
            } catch (CudaException e) {
                if (!e.outOfMemory()) {
                    throw e;
                }
                trim();
                try {
                    ptr = driver.malloc(size);
                } catch (CudaException e2) {
                    throw new DeviceMemoryException("out of device memory allocating " + bytes + " bytes ("
                            + liveBytes + " bytes in use by this backend)");
                }
            }
        }
        live.put(ptr, size);
        liveBytes += size;
        return ptr;
    }

    synchronized void release(long ptr) {
        Long size = live.remove(ptr);
        if (size == null) {
            return;
        }
        liveBytes -= size;
        free.computeIfAbsent(size, s -> new ArrayDeque<>()).push(ptr);
        cachedBytes += size;
    }

    /** Returns every cached block to the driver. */
    synchronized void trim() {
        for (ArrayDeque<Long> q : free.values()) {
            for (long p : q) {
                driver.free(p);
            }
        }
        free.clear();
        cachedBytes = 0;
    }

    /** Frees everything, live blocks included. */
    synchronized void closeAll() {
        trim();
        for (long p : live.keySet()) {
            driver.free(p);
        }
        live.clear();
        liveBytes = 0;
    }

    synchronized long liveBytes() {
        return liveBytes;
    }

    synchronized long cachedBytes() {
        return cachedBytes;
    }
}
