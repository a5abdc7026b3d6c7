/* CRC-32 (IEEE, reflected) of generated data, table-driven and bitwise. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

static uint32_t table[256];

static uint32_t crc_bitwise(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static uint32_t crc_table(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return ~c;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
        table[i] = c;
    }
    uint8_t *buf = calloc(n ? n : 1, 1);
    uint32_t x = 1;
    for (size_t i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; buf[i] = (uint8_t)x; }
    printf("crc(\"123456789\")=%08x\n", crc_table((const uint8_t *)"123456789", 9));
    printf("n=%zu table=%08x bitwise=%08x\n", n, crc_table(buf, n), crc_bitwise(buf, n));
    free(buf);
    return 0;
}
