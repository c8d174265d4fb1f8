// The random-weight timm fixtures in ../shared/data/reference (see its README): one list for every
// test that runs them (cpu/ref reference tests, cuda model tests).
#pragma once

namespace vitrt::test {

inline constexpr const char* kVitTimmFixtures[] = {"deit_tiny_distilled_patch16_224", "vit_medium_patch16_gap_256",
                                                   "vit_tiny_patch16_384", "vit_base_patch32_224"};

}  // namespace vitrt::test
