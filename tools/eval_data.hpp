// The labelled image sets `vitrt eval` reads: an ImageNet-style folder of class folders, or image
// files named by a CSV of `path,class_index` rows. Pure listing: nothing here decodes an image.
#pragma once

#include <string>
#include <vector>

namespace vitrt::cli {

struct LabelledImage {
    std::string path;
    int label = 0;
};

struct EvalSet {
    std::vector<LabelledImage> images;
    std::string how;              // one line: how the labels were found (printed and in the results)
    int unlabelled_skipped = 0;   // CSV rows with a negative class index
    int not_in_data = 0;          // CSV rows outside the DATA paths that were given
};

// DATA is one directory whose sub-folders are classes, walked recursively for .jpg/.jpeg/.png.
// Class index: with num_classes == 1000 and every folder named by an ImageNet synset (n01440764,
// ...), the synset's ImageNet-1k index (the sorted order of all 1000 wnids, as timm/torchvision
// use), so a subset of the classes still maps correctly; otherwise the folder's position in the
// sorted folder names (torchvision ImageFolder), which must not exceed num_classes.
EvalSet folder_set(const std::string& dir, int num_classes);

// CSV of `path,class_index[,...]`, with or without a header (a header names the `path` and
// `class_index` columns; otherwise they are the first two). Fields may be double-quoted. Relative
// paths are resolved against the CSV's folder, or, when the file is not there, its parent folder
// (shared/data's per-folder labels.csv files name paths from the images/ root). Negative class
// indices mark unlabelled images: skipped and counted. When `data` is not empty, only rows whose
// file lies in one of those files or directories are kept. A malformed row or an index >=
// num_classes is a vitrt::Error naming the file and line.
EvalSet csv_set(const std::string& csv, const std::vector<std::string>& data, int num_classes);

// `num` images spread evenly over the set (every set.size()/num-th), in order; all when num <= 0.
void keep_evenly(EvalSet& set, int num);

// The 1000 ImageNet-1k synsets in class-index order (compiled in from models/imagenet_wnids.txt).
const std::vector<std::string>& imagenet_wnids();

}  // namespace vitrt::cli
