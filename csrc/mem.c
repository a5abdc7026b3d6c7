/* Guest memory: page-aligned regions with permissions, backed by host mmap,
 * reached through a small software TLB on the fast path. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "machine.h"
#include "jit.h"

static uint64_t page_up(uint64_t a) { return (a + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

void mem_flush_tlb(rv_machine *m) {
    for (int i = 0; i < TLB_SIZE; i++) m->tlb_r[i].tag = m->tlb_w[i].tag = ~0ull;
    jit_forget_links(m);   /* the map changed: decode caches (and translations) may be gone */
}

region *mem_find(rv_machine *m, uint64_t addr) {
    int lo = 0, hi = m->nregions - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        region *r = &m->regions[mid];
        if (addr < r->base) hi = mid - 1;
        else if (addr - r->base >= r->size) lo = mid + 1;
        else return r;
    }
    return NULL;
}

/* The host blocks of dropped regions, kept for the next ones to map (of this or
 * another machine): a fresh anonymous mapping costs a page fault and the kernel's
 * zeroing per 4 KiB page as it is first written (~1.8 ms per 4 MiB here), while a
 * kept block's pages are already there and only those that were touched need
 * zeroing (~0.1 ms per 4 MiB).  A block is zeroed as it enters the pool, so every
 * block in it reads as zero: guest memory that was never written still reads zero.
 * The pool holds at most POOL_SLOTS blocks of at most `limit` bytes in all (their
 * full size, touched or not); blocks larger than that are unmapped as before. */
#define POOL_SLOTS 16
#define POOL_LIMIT (64ull << 20)
static struct {
    pthread_mutex_t lock;           /* machines come and go on any thread */
    host_block *blocks[POOL_SLOTS]; /* oldest first */
    int n;
    uint64_t held, limit;           /* bytes of the blocks held; the most it may hold */
} pool = {PTHREAD_MUTEX_INITIALIZER, {0}, 0, 0, POOL_LIMIT};

static void pool_lock(void) { pthread_mutex_lock(&pool.lock); }
static void pool_unlock(void) { pthread_mutex_unlock(&pool.lock); }

/* A child forked while another thread held the lock must not inherit it held. */
__attribute__((constructor)) static void pool_atfork(void) { pthread_atfork(pool_lock, pool_unlock, pool_unlock); }

static void block_free(host_block *b) { munmap(b->mem, b->size); free(b); }

/* The host's page: mincore's unit, and munmap's (4 KiB on x86-64, like the guest's). */
static size_t host_page(void) { return (size_t)sysconf(_SC_PAGESIZE); }

/* Remove pool block i; the caller holds the lock. */
static host_block *pool_take_at(int i) {
    host_block *b = pool.blocks[i];
    memmove(&pool.blocks[i], &pool.blocks[i + 1], (size_t)(pool.n - i - 1) * sizeof b);
    pool.n--;
    pool.held -= b->size;
    return b;
}

/* Zero b: memset on the pages mincore reports resident, MADV_DONTNEED on the others.
 * Writing the untouched pages would fault them in, and a sparse region (a large
 * stack, a heap) would come back as resident as it is large; a page not resident
 * may still be swapped out, holding data, and MADV_DONTNEED drops it (on a page
 * never touched it costs nothing).  0 when done. */
static int block_zero(host_block *b) {
    size_t page = host_page(), pages = (b->size + page - 1) / page;
    unsigned char *in = malloc(pages);
    if (!in || mincore(b->mem, b->size, in)) { free(in); return -1; }
    int failed = 0;
    for (size_t i = 0; i < pages;) {   /* runs of pages alike */
        size_t j = i;
        while (j < pages && (in[j] & 1) == (in[i] & 1)) j++;
        uint64_t end = j * page < b->size ? j * page : b->size;
        if (in[i] & 1) memset(b->mem + i * page, 0, end - i * page);
        else failed |= madvise(b->mem + i * page, end - i * page, MADV_DONTNEED);
        i = j;
    }
    free(in);
    return failed;
}

/* Blocks to unmap so that the pool fits its bounds with `room` more bytes in `more`
 * more blocks (0 or 1): the oldest go first.  Moved to `out` (the caller unmaps them
 * outside the lock, which it holds here); returns how many. */
static int pool_evict(uint64_t room, int more, host_block **out) {
    int k = 0;
    while (pool.n && (pool.n + more > POOL_SLOTS || pool.held + room > pool.limit)) out[k++] = pool_take_at(0);
    return k;
}

static void block_release(host_block *b) {
    if (--b->refs) return;
    host_block *evicted[POOL_SLOTS];
    int k = 0, kept = 0;
    /* Zeroed outside the lock when the pool may keep it (the bound is read again under it). */
    if (b->size <= __atomic_load_n(&pool.limit, __ATOMIC_RELAXED) && !block_zero(b)) {
        pool_lock();
        if (b->size <= pool.limit) {
            k = pool_evict(b->size, 1, evicted);
            pool.blocks[pool.n++] = b;
            pool.held += b->size;
            kept = 1;
        }
        pool_unlock();
    }
    if (!kept) block_free(b);
    while (k) block_free(evicted[--k]);
}

/* A zeroed host block of exactly `size` bytes: the smallest pooled one that is large
 * enough (its tail unmapped: only at a host page boundary), else a new mapping; NULL
 * when the host has no memory. */
static host_block *block_new(uint64_t size) {
    host_block *b = NULL;
    int cut = size % host_page() == 0, best = -1;
    pool_lock();
    for (int i = 0; i < pool.n; i++) {
        uint64_t have = pool.blocks[i]->size;
        if ((have == size || (cut && have > size)) && (best < 0 || have < pool.blocks[best]->size)) best = i;
    }
    if (best >= 0) b = pool_take_at(best);
    pool_unlock();
    if (b) {
        if (b->size > size) munmap(b->mem + size, b->size - size);
        b->size = size; b->refs = 1;
        return b;
    }
    b = malloc(sizeof *b);
    if (!b) return NULL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { free(b); return NULL; }
    b->mem = p; b->size = size; b->refs = 1;
    return b;
}

void rv_mem_pool_set_limit(uint64_t bytes) {
    host_block *evicted[POOL_SLOTS];
    pool_lock();
    __atomic_store_n(&pool.limit, bytes, __ATOMIC_RELAXED);
    int k = pool_evict(0, 0, evicted);
    pool_unlock();
    while (k) block_free(evicted[--k]);
}

uint64_t rv_mem_pool_limit(void) { return __atomic_load_n(&pool.limit, __ATOMIC_RELAXED); }

uint64_t rv_mem_pool_held(void) {
    pool_lock();
    uint64_t held = pool.held;
    pool_unlock();
    return held;
}

static void region_drop_cache(region *r) { free(r->cache); r->cache = NULL; }

/* Insert a region keeping the array sorted by base. */
static int region_insert(rv_machine *m, region r) {
    if (m->nregions == MAX_REGIONS) return -1;
    int i = m->nregions;
    while (i > 0 && m->regions[i - 1].base > r.base) { m->regions[i] = m->regions[i - 1]; i--; }
    m->regions[i] = r;
    m->nregions++;
    return 0;
}

static void region_remove(rv_machine *m, int i) {
    memmove(&m->regions[i], &m->regions[i + 1], (size_t)(m->nregions - i - 1) * sizeof(region));
    m->nregions--;
}

static int overlaps(rv_machine *m, uint64_t a, uint64_t end) {
    for (int i = 0; i < m->nregions; i++) {
        region *r = &m->regions[i];
        if (a < r->base + r->size && r->base < end) return 1;
    }
    return 0;
}

int rv_map(rv_machine *m, uint64_t addr, uint64_t size, unsigned perms) {
    if (size == 0 || (addr & (PAGE_SIZE - 1))) return -1;
    size = page_up(size);
    if (addr + size < addr || addr + size > (1ull << 56)) return -1;
    if (overlaps(m, addr, addr + size)) return -1;
    if (size > m->mem_limit - m->mem_mapped) return RV_ENOMEM;
    host_block *b = block_new(size);
    if (!b) return RV_ENOMEM;
    region r = {addr, size, perms & 7, b->mem, b, NULL};
    if (region_insert(m, r)) { block_release(b); return -1; }
    m->mem_mapped += size;
    mem_flush_tlb(m);
    return 0;
}

/* Split so that `a` is a region boundary (when it falls inside one). */
static int split_at(rv_machine *m, uint64_t a) {
    region *r = mem_find(m, a);
    if (!r || r->base == a) return 0;
    if (m->nregions == MAX_REGIONS) return -1;
    region hi = *r;
    uint64_t lo_size = a - r->base;
    hi.base = a; hi.size = r->size - lo_size; hi.host = r->host + lo_size; hi.cache = NULL;
    r->size = lo_size;
    region_drop_cache(r);
    hi.block->refs++;
    return region_insert(m, hi);
}

int rv_unmap(rv_machine *m, uint64_t addr, uint64_t size) {
    if ((addr & (PAGE_SIZE - 1)) || size == 0) return -1;
    uint64_t end = addr + page_up(size);
    if (split_at(m, addr) || split_at(m, end)) return -1;
    for (int i = 0; i < m->nregions;) {
        region *r = &m->regions[i];
        if (r->base >= addr && r->base + r->size <= end) {
            m->mem_mapped -= r->size;
            region_drop_cache(r);
            block_release(r->block);
            region_remove(m, i);
        } else i++;
    }
    mem_flush_tlb(m);
    return 0;
}

int rv_protect(rv_machine *m, uint64_t addr, uint64_t size, unsigned perms) {
    if ((addr & (PAGE_SIZE - 1)) || size == 0) return -1;
    uint64_t end = addr + page_up(size);
    for (uint64_t a = addr; a < end;) {   /* every page must be mapped */
        region *r = mem_find(m, a);
        if (!r) return -1;
        a = r->base + r->size;
    }
    if (split_at(m, addr) || split_at(m, end)) return -1;
    for (int i = 0; i < m->nregions; i++) {
        region *r = &m->regions[i];
        if (r->base >= addr && r->base + r->size <= end) {
            if (!(perms & RV_PERM_X)) region_drop_cache(r);
            r->perms = perms & 7;
        }
    }
    mem_flush_tlb(m);
    return 0;
}

void rv_set_mem_limit(rv_machine *m, uint64_t bytes) { m->mem_limit = bytes; }
uint64_t rv_mem_mapped(rv_machine *m) { return m->mem_mapped; }

uint64_t rv_find_free(rv_machine *m, uint64_t hint, uint64_t size) {
    if (size > (1ull << 47) || hint > (1ull << 47)) return 0;   /* page_up must not wrap */
    uint64_t a = page_up(hint ? hint : PAGE_SIZE);
    size = page_up(size);
    for (int i = 0; i < m->nregions; i++) {
        region *r = &m->regions[i];
        if (r->base + r->size <= a) continue;
        if (a + size <= r->base) break;
        a = r->base + r->size;
    }
    return (a + size <= (1ull << 47)) ? a : 0;
}

int rv_region(rv_machine *m, int i, uint64_t *base, uint64_t *size, unsigned *perms) {
    if (i < 0 || i >= m->nregions) return -1;
    *base = m->regions[i].base; *size = m->regions[i].size; *perms = m->regions[i].perms;
    return 0;
}

/* Forget decoded instructions overlapping [off, off+n) of an executable
 * region (including one that starts 2 bytes before); 1 when that forgot a
 * translated block. */
static int cache_invalidate(region *r, uint64_t off, uint64_t n) {
    if (!r->cache) return 0;
    uint64_t first = off >= 2 ? (off - 2) / 2 : 0;
    uint64_t last = (off + n + 1) / 2;
    if (last > r->size / 2) last = r->size / 2;
    /* Translated blocks starting before the range may cover it: forget them
     * too (jit.h; a block is never longer than JIT_MAX_BYTES). */
    int forgot = 0;
    for (uint64_t i = first > JIT_MAX_BYTES / 2 ? first - JIT_MAX_BYTES / 2 : 0; i < last; i++)
        if (r->cache[i].pad == JIT_READY) { r->cache[i].pad = 0; forgot = 1; }
    /* Each slot keeps its length: a store that rewrote its own instruction
     * still moves pc past that instruction's bytes (NEXT reads d->len after
     * the store), as it would on a core. */
    for (uint64_t i = first; i < last; i++) r->cache[i] = (rv_decoded){.len = r->cache[i].len};
    return forgot;
}

/* Copy across regions; perms_needed 0 means "ignore permissions". */
static int copy_guest(rv_machine *m, uint64_t addr, void *buf, uint64_t n, int to_guest, unsigned need) {
    uint8_t *p = buf;
    while (n) {
        region *r = mem_find(m, addr);
        if (!r || (r->perms & need) != need) return -1;
        uint64_t off = addr - r->base, chunk = r->size - off;
        if (chunk > n) chunk = n;
        if (to_guest) {
            if (m->nctx > 1) resv_break_foreign(m, addr, chunk);
            memcpy(r->host + off, p, chunk);
            if (r->cache) m->code_writes++;
            if (cache_invalidate(r, off, chunk)) jit_forget_links(m);
        } else memcpy(p, r->host + off, chunk);
        p += chunk; addr += chunk; n -= chunk;
    }
    return 0;
}

int rv_is_mapped(rv_machine *m, uint64_t addr, uint64_t n) {
    while (n) {
        region *r = mem_find(m, addr);
        if (!r) return 0;
        uint64_t chunk = r->size - (addr - r->base);
        if (chunk >= n) return 1;
        addr += chunk; n -= chunk;
    }
    return 1;
}

int mem_fetch(rv_machine *m, uint64_t addr, void *dst, unsigned n) {
    return copy_guest(m, addr, dst, n, 0, RV_PERM_X);
}

int rv_poke(rv_machine *m, uint64_t addr, const void *src, uint64_t n) {
    return copy_guest(m, addr, (void *)src, n, 1, 0);
}

int rv_peek(rv_machine *m, uint64_t addr, void *dst, uint64_t n) {
    return copy_guest(m, addr, dst, n, 0, 0);
}

static void tlb_fill(tlb_entry *tlb, region *r, uint64_t addr) {
    tlb_entry *e = &tlb[(addr >> PAGE_BITS) & (TLB_SIZE - 1)];
    e->tag = addr >> PAGE_BITS;
    e->delta = (intptr_t)((uintptr_t)r->host - r->base);
}

void mem_tlb_remember(rv_machine *m, region *r, uint64_t addr, int store) {
    if (!r) return;
    if (!store) {
        if (r->perms & RV_PERM_R) tlb_fill(m->tlb_r, r, addr);
        return;
    }
    /* Executable pages stay out of the write TLB so that stores reach the
     * decode-cache invalidation in copy_guest; so do pages where another
     * thread holds a reservation, so that stores reach resv_break_foreign. */
    if ((r->perms & RV_PERM_W) && !(r->perms & RV_PERM_X) && !(m->nctx > 1 && resv_foreign_page(m, addr)))
        tlb_fill(m->tlb_w, r, addr);
}

int mem_load_slow(rv_machine *m, uint64_t addr, void *dst, unsigned n) {
    mem_tlb_remember(m, mem_find(m, addr), addr, 0);
    if (copy_guest(m, addr, dst, n, 0, RV_PERM_R)) {
        m->stop.reason = RV_STOP_LOAD;
        m->stop.addr = addr;
        return 0;
    }
    return 1;
}

int mem_store_slow(rv_machine *m, uint64_t addr, const void *src, unsigned n) {
    mem_tlb_remember(m, mem_find(m, addr), addr, 1);
    if (copy_guest(m, addr, (void *)src, n, 1, RV_PERM_W)) {
        m->stop.reason = RV_STOP_STORE;
        m->stop.addr = addr;
        return 0;
    }
    return 1;
}
