// The cpu backend's huge-page arena for packed weights (backends/cpu/huge_pages.hpp): aligned,
// disjoint, writable allocations that outlive the arena, large ones in a mapping of their own.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/cpu/huge_pages.hpp"

namespace vitrt::cpu {
namespace {

TEST(HugePages, MapIsTwoMegabyteAlignedAndWritable) {
    auto p = map_huge(3 << 20);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p.get()) % (2 << 20), 0u);
    std::memset(p.get(), 0x5a, 3 << 20);
    EXPECT_EQ(static_cast<unsigned char*>(p.get())[(3 << 20) - 1], 0x5a);
}

TEST(HugePages, ArenaAllocationsAreAlignedDisjointAndOutliveTheArena) {
    std::vector<std::shared_ptr<void>> blocks;
    const std::vector<size_t> sizes = {100, 4096, 1 << 20, 3 << 20, 5, 70 << 20, 64};
    {
        HugePageArena arena(size_t(4) << 20);  // small chunks: sizes above cross chunk boundaries
        for (size_t s : sizes) blocks.push_back(arena.allocate(s, 64));
    }  // the arena is gone; the blocks keep their chunks
    for (size_t i = 0; i < blocks.size(); ++i) {
        EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks[i].get()) % 64, 0u) << i;
        std::memset(blocks[i].get(), int(i + 1), sizes[i]);
    }
    for (size_t i = 0; i < blocks.size(); ++i) {  // nothing overwrote anything else
        const auto* b = static_cast<const unsigned char*>(blocks[i].get());
        EXPECT_EQ(b[0], i + 1) << i;
        EXPECT_EQ(b[sizes[i] - 1], i + 1) << i;
    }
}

}  // namespace
}  // namespace vitrt::cpu
