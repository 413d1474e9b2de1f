/* A filter for the Quidditch UDF ABI, version 1 (docs/udf.md), in freestanding C.
 *
 * inputs:  fields [price, stock]   params [max_price, min_stock]
 * output:  keep = price and stock are present, price <= max_price and stock >= min_stock
 * status:  0 ok; 1 wrong field count; 2 wrong param count.
 *
 * Built by build.sh with clang --target=wasm32 -nostdlib: no libc, no imports. The batch
 * region lives at __heap_base (after the data and the shadow stack), grown on demand.
 */

typedef unsigned int u32;
typedef unsigned char u8;

struct quidditch_batch_header {
    u32 abi_version;
    u32 document_count;
    u32 field_count;
    u32 param_count;
    u32 params_offset;
    u32 scores_offset;
    u32 field_values_offset;
    u32 field_present_offset;
    u32 output_offset;
    u32 kind;
    u32 reserved[6];
};

extern unsigned char __heap_base;

int quidditch_abi_version(void) { return 1; }

int quidditch_reserve(int byte_count) {
    unsigned long base = ((unsigned long)&__heap_base + 7ul) & ~7ul;
    unsigned long end = base + (unsigned long)byte_count;
    unsigned long have = __builtin_wasm_memory_size(0) * 65536ul;
    if (end > have) {
        unsigned long pages = (end - have + 65535ul) / 65536ul;
        if (__builtin_wasm_memory_grow(0, pages) == (unsigned long)-1) {
            return 0; /* the host reports the memory limit */
        }
    }
    return (int)base;
}

int filter_batch(int region_pointer, int document_count) {
    u8 *region = (u8 *)region_pointer;
    const struct quidditch_batch_header *header = (const struct quidditch_batch_header *)region;
    if (header->field_count != 2) return 1;
    if (header->param_count != 2) return 2;
    const double *params = (const double *)(region + header->params_offset);
    const double *prices = (const double *)(region + header->field_values_offset);
    const double *stocks = prices + document_count;
    const u8 *price_present = region + header->field_present_offset;
    const u8 *stock_present = price_present + document_count;
    u8 *keep = region + header->output_offset;
    double max_price = params[0];
    double min_stock = params[1];
    for (int index = 0; index < document_count; index++) {
        keep[index] = price_present[index] && stock_present[index]
                      && prices[index] <= max_price && stocks[index] >= min_stock;
    }
    return 0;
}
