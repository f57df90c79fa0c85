// A second opinion learned from labelled examples (the content's "examples": messages people
// wrote, each with its intent and whether it was urgent). The hand-written rules stay the first
// opinion; on unseen messages they miss about one urgent message in ten, because they over-fit the
// phrasing they were written from. A linear model over the words, word pairs and character
// 4-grams of the normalised text generalises better. The classifier lets it only *raise*
// urgency and name an intent only where the rules found none (classifier.cc).
//
// Trained when the content is compiled, deterministically (fixed order and seed), so the same
// content always gives the same decisions.
#ifndef INTENTS_EXAMPLE_MODEL_H_
#define INTENTS_EXAMPLE_MODEL_H_

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "intents/normalizer.h"

namespace bot::intents {

// One feature of a message: its row in the model, its value, and its urgency weight (carried
// here so that scoring urgency, done for every message, touches no other memory).
struct ModelFeature {
  uint32_t row;
  float value;
  float urgency_weight;
};
// One message as the model sees it; features never seen in training already dropped.
using ModelInput = std::vector<ModelFeature>;

class ExampleModel {
 public:
  struct Example {
    NormalizedText text;
    bool urgent = false;
    int label = -1;  // index of its class among `class_count`, or -1 when it teaches urgency only
  };
  struct Options {
    int urgency_epochs = 15;
    int intent_epochs = 10;
    float learning_rate = 0.5f;
    float l2 = 1e-5f;
  };

  ExampleModel() = default;
  static ExampleModel Train(const std::vector<Example>& examples, int class_count, const Options& options);

  bool empty() const { return rows_ == 0; }
  int class_count() const { return classes_; }

  // The features of `text` into `out` (its buffer is reused). Returns the share of its words the
  // examples contained: where most are new the model has little to go on. The classifier uses the
  // word-by-word path below; this and ClassProbability are the reference the tests hold it to.
  double Encode(const NormalizedText& text, ModelInput* out) const;
  // The same, in two steps, for a caller that caches per word (the classifier's word cache): what
  // depends on one word alone is worked out once by DescribeWord, and EncodeWords adds the word
  // pairs and the scaling. EncodeWords over a text's tokens gives exactly Encode's result.
  struct Word {
    uint64_t hash = 0;              // its word feature; 0 for a place name, which is left out
    uint32_t first = 0, count = 0;  // its known features, in the caller's arena: the word, then its 4-grams
    uint32_t features = 0;          // how many features it has, known or not (the scaling counts them all)
    bool known = false;             // the word itself was in the examples (then it is arena[first])
  };
  Word DescribeWord(std::string_view key, std::vector<ModelFeature>* arena) const;
  struct DescribedWord {
    const Word* word;
    const ModelFeature* arena;  // where DescribeWord put its features
  };
  double EncodeWords(const DescribedWord* words, size_t count, ModelInput* out) const;
  // Probability that the message is urgent.
  double Urgency(const ModelInput& in) const;
  // Probability of class `c` (one-versus-rest).
  double ClassProbability(const ModelInput& in, int c) const;
  // Every class's probability at once, into `out` (class_count() values): the same numbers as
  // ClassProbability, reading each feature's row once instead of once per class.
  void ClassProbabilities(const ModelInput& in, std::vector<double>* out) const;

 private:
  struct Slot {
    uint64_t key = 0;  // feature hash; 0 = empty
    uint32_t row = 0;
    float urgency_weight = 0;
  };
  const Slot* Find(uint64_t feature) const;

  // Open addressing: feature hash → row and urgency weight, one cache line per lookup. rows_ rows
  // of (1 + classes_) weights, column 0 urgency.
  std::vector<Slot> slots_;
  uint32_t rows_ = 0;
  int classes_ = 0;
  std::vector<float> weights_;
  std::vector<float> bias_;  // 1 + classes_
};

}  // namespace bot::intents

#endif  // INTENTS_EXAMPLE_MODEL_H_
