// Feeding epochs from a block resident on the device: the epoch's permutation computed per position
// (the same Feistel network with cycle walking as io.fastembedding.train.EpochPermutation, which the
// CPU path uses; change both together) and the gather of the block, in that order, into the staging
// layout of trainEpoch's batches (StagingPipeline.Layout: per batch of c rows, the c x n indices, then
// the labels, the weights if any and the c x k numeric features, each part 16-byte aligned; batch b
// starts at byte b * stride). The steps then read exactly the bytes a host-shuffled upload gives.

__device__ __forceinline__ unsigned int perm_mix(unsigned int x) {
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  x ^= x >> 16;
  return x;
}

__device__ __forceinline__ unsigned int perm_apply(unsigned int i, unsigned int rows, int h, unsigned int k0,
                                                   unsigned int k1, unsigned int k2, unsigned int k3) {
  unsigned int mask = (1u << h) - 1u;
  unsigned int keys[4] = {k0, k1, k2, k3};
  // 4 rounds; 8 for halves of at most 5 bits (blocks of at most 1024 rows), where 4 are biased
  int rounds = h <= 5 ? 8 : 4;
  unsigned long long x = i;
  do {
    unsigned int left = (unsigned int)(x >> h);
    unsigned int right = (unsigned int)(x & mask);
    for (int r = 0; r < rounds; r++) {
      unsigned int key = keys[r & 3] + (unsigned int)(r >> 2) * 0x9E3779B9u;
      unsigned int f = perm_mix(right ^ key) & mask;
      unsigned int next = left ^ f;
      left = right;
      right = next;
    }
    x = ((unsigned long long)left << h) | right;
  } while (x >= rows);
  return (unsigned int)x;
}

__device__ __forceinline__ long long align16(long long b) { return (b + 15) / 16 * 16; }

// One thread per (position, part): position j of the epoch takes row perm(j) of the block.
extern "C" __global__ void epoch_gather(const int* __restrict__ idx, const float* __restrict__ labels,
                                        const float* __restrict__ weights, const float* __restrict__ numeric,
                                        int rows, int n, int k, int bs, long long stride, int halfBits,
                                        int key0, int key1, int key2, int key3, char* __restrict__ out) {
  int batches = (rows + bs - 1) / bs;
  int lastCount = rows - (batches - 1) * bs;
  for (long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x; j < rows;
       j += (long long)gridDim.x * blockDim.x) {
    unsigned int src = perm_apply((unsigned int)j, (unsigned int)rows, halfBits, (unsigned int)key0,
                                  (unsigned int)key1, (unsigned int)key2, (unsigned int)key3);
    int b = (int)(j / bs);
    int r = (int)(j - (long long)b * bs);
    int count = b == batches - 1 ? lastCount : bs;
    long long labelOff = align16((long long)count * n * 4);
    long long weightOff = labelOff + align16((long long)count * 4);
    long long numericOff = weightOff + (weights != nullptr ? align16((long long)count * 4) : 0);
    char* base = out + (long long)b * stride;
    int* oi = (int*)base + (long long)r * n;
    const int* si = idx + (long long)src * n;
    for (int f = 0; f < n; f++) {
      oi[f] = si[f];
    }
    ((float*)(base + labelOff))[r] = labels[src];
    if (weights != nullptr) {
      ((float*)(base + weightOff))[r] = weights[src];
    }
    if (k > 0) {
      float* on = (float*)(base + numericOff) + (long long)r * k;
      const float* sn = numeric + (long long)src * k;
      for (int q = 0; q < k; q++) {
        on[q] = sn[q];
      }
    }
  }
}
