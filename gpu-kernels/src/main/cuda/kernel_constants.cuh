// GENERATED from gpu-kernels/src/main/java/io/fastembedding/backend/cuda/KernelConstants.java
// by build-ptx.sh; do not edit. Constants the host (Java) and the kernels share.
#pragma once

#define META_DIM 0              // field metadata: embedding dim
#define META_DIMOFF 1           // field metadata: offset in the concatenated vector
#define META_ROWBASE 2          // field metadata: first row id in the scalar-per-row space
#define META_SIZE 3             // field metadata: table rows
#define META_VEC 4              // field metadata: vector width usable on the table (4, 2 or 1)
#define META_TABLEOFF 5         // field metadata: float offset of the table in the packed buffer
#define META_GVEC 6             // field metadata: vector width usable on the gradient rows G (stride sumDims)
#define META_ENTRIES 7          // field metadata: entries per field (the array has META_ENTRIES * n ints)
#define LOSS_LOGISTIC 0         // lossType
#define LOSS_SQUARED 1          // lossType
#define OPT_SGD 0               // opt
#define OPT_ADAGRAD 1           // opt
#define OPT_ROWWISE 2           // opt
#define OPT_ROWWISE_ADAM 3      // opt
#define ADAM_BETA1 0.9f         // row-wise Adam: decay of the momentum m
#define ADAM_BETA2 0.999f       // row-wise Adam: decay of the second moment v
#define MODE_TRAIN 0            // forward mode: loss and gradients
#define MODE_PREDICT 1          // forward mode: predictions only
#define EPI_BIAS_RELU 0         // gemm_tiled epilogue
#define EPI_RELU_MASK 1         // gemm_tiled epilogue
#define EPI_EMB_GRAD 2          // gemm_tiled epilogue
#define EPI_WEIGHT_PART 3       // gemm_tiled epilogue
#define GEMM_BM 64              // gemm_tiled: result rows per block
#define GEMM_BN 64              // gemm_tiled: result columns per block
#define GEMM_BK 16              // gemm_tiled: shared-dimension step
#define KERNEL_THREADS 256      // threads per block (launch bounds)
#define SCATTER_TILE_SMALL 256  // batch rows per tile of scatter_atomic_256
#define SCATTER_TILE_LARGE 1024 // batch rows per tile of scatter_atomic_1024
#define DET_SUBLISTS 8          // deterministic mode: record lists per row (by range of tiles)
#define DET_WALK_SERIAL 1       // det_apply_rows walkMode: sub-lists one after the other, rank sort
#define DET_WALK_NO_INLINE 2    // det_apply_rows walkMode: record ids, not values
#define DET_WALK_UNIFORM 4      // det_apply_rows walkMode: a row's lanes step together
#define DET_WALK_SMEM_SCAN 8    // det_apply_rows walkMode: counts summed in shared memory
#define DET_WALK_PARALLEL 16    // det_apply_rows walkMode: parallel walk at any row count
#define DET_PARALLEL_WALK_MAX_ROWS 49152 // det_apply_rows: walkMode 0 walks in parallel below
#define DET_COLD_RECORDS 16     // det_apply_cold: most records of a row it applies (more: hot list)
#define DET_WALK_NO_COLD 32     // walkMode (host): every row through det_apply_rows
