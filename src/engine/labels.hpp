// Class names used when a checkpoint carries none.
#pragma once

#include <string>
#include <vector>

namespace vitrt {

// ImageNet-1k names (models/imagenet_classes.txt, compiled in) for 1000 classes; otherwise
// "class N".
std::vector<std::string> default_labels(int num_classes);

// Reads one label per line; vitrt::Error naming the file when unreadable or empty.
std::vector<std::string> read_labels_file(const std::string& path);

}  // namespace vitrt
