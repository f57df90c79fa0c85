#include "intents/example_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string_view>
#include <unordered_map>

#include "intents/entities.h"

namespace bot::intents {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
constexpr float kBiasWhenAbsent = -20.0f;  // a class with no example is never predicted

uint64_t Mix(uint64_t h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// FNV-1a, our own so that the features (and so the decisions) are the same on every platform.
uint64_t KindSeed(char kind) { return Mix(kFnvOffset, std::string_view(&kind, 1)); }

using RawFeatures = std::vector<std::pair<uint64_t, float>>;

uint64_t Combine(uint64_t seed, uint64_t value) { return (seed ^ value) * kFnvPrime; }

// Feature hashes are never 0: 0 marks an empty slot.
uint64_t NonZero(uint64_t h) { return h == 0 ? 1 : h; }

// Where the open-addressing table of `mask` + 1 slots starts looking for `feature`.
size_t HomeSlot(uint64_t feature, size_t mask) { return (feature * 0x9E3779B97F4A7C15ull) >> 20 & mask; }

// Words, adjacent word pairs and character 4-grams of each word marked "^word$", scaled so a long
// message does not shout. Pairs and grams are hashed from the words' hashes and code points, not
// from their bytes again. `words` (optional) receives each token's word feature, in order.
void Extract(const NormalizedText& text, RawFeatures* out, std::vector<uint64_t>* words = nullptr) {
  thread_local std::vector<uint64_t> hashes;
  thread_local std::vector<char32_t> letters;
  static const uint64_t kWord = KindSeed('w'), kPair = KindSeed('b'), kGram = KindSeed('c');
  hashes.clear();
  if (words) words->clear();
  uint64_t previous = 0;
  for (size_t i = 0; i < text.tokens.size(); ++i) {
    const std::string& key = text.tokens[i].key;
    // Place names are left out: the examples' arrests happened somewhere, and the model learnt
    // "Islamabad" and "Chaman" as signs of urgency ("I am in Islamabad" scored 0.91).
    if (IsPlaceWord(key)) continue;
    const uint64_t word = NonZero(Mix(kWord, key));
    hashes.push_back(word);
    if (words) words->push_back(word);
    if (i > 0) hashes.push_back(Combine(Combine(kPair, previous), word));
    previous = word;
    letters.clear();
    letters.push_back(U'^');
    ForEachCodePoint(key, [](char32_t c) { letters.push_back(c); });
    letters.push_back(U'$');
    for (size_t j = 0; j + 4 <= letters.size(); ++j)
      hashes.push_back(Combine(Combine(Combine(Combine(kGram, letters[j]), letters[j + 1]), letters[j + 2]), letters[j + 3]));
  }
  // Each occurrence weighs 1/sqrt(n): unit length when no feature repeats (nearly always), and
  // no sorting or counting on the hot path. A repeated feature simply adds up.
  out->clear();
  if (hashes.empty()) return;
  const auto value = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hashes.size())));
  for (uint64_t h : hashes) out->emplace_back(NonZero(h), value);
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-std::clamp(z, -30.0, 30.0))); }

// Trains columns [first, last) of `weights` (rows of `stride` = bias.size() floats): column 0 is
// urgency, column c > 0 is "label == c - 1". A column with no positive example keeps its bias.
void TrainColumns(const std::vector<std::vector<std::pair<uint32_t, float>>>& inputs,
                  const std::vector<ExampleModel::Example>& examples, size_t first, size_t last, int epochs,
                  bool balance, const ExampleModel::Options& options, std::vector<float>& weights,
                  std::vector<float>& bias_out) {
  const size_t stride = bias_out.size(), width = last - first, count = examples.size();
  if (width == 0 || count == 0) return;
  std::vector<uint8_t> target(count * width);  // example-major
  std::vector<double> weight_of(2 * width);
  std::vector<char> active(width);
  for (size_t c = 0; c < width; ++c) {
    size_t positives = 0;
    for (size_t i = 0; i < count; ++i) {
      const size_t column = first + c;
      target[i * width + c] = column == 0 ? examples[i].urgent : examples[i].label == static_cast<int>(column) - 1;
      positives += target[i * width + c];
    }
    active[c] = positives > 0;
    const size_t negatives = count - positives;
    const double n = static_cast<double>(count);
    weight_of[2 * c] = !balance ? 1.0 : negatives ? n / (2.0 * negatives) : 0.0;
    weight_of[2 * c + 1] = !balance || !positives ? 1.0 : n / (2.0 * positives);
  }
  const size_t rows = weights.size() / stride;
  std::vector<float> squared(rows * width, 1e-8f);
  std::vector<double> bias(width, 0.0), bias_squared(width, 1e-8), z(width), g(width);
  std::vector<size_t> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = i;
  std::mt19937 rng(1);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    for (size_t i = count; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    for (size_t i : order) {
      std::copy(bias.begin(), bias.end(), z.begin());
      for (const auto& [row, value] : inputs[i]) {
        const float* w = &weights[row * stride + first];
        for (size_t c = 0; c < width; ++c) z[c] += static_cast<double>(w[c]) * value;
      }
      for (size_t c = 0; c < width; ++c) {
        const uint8_t t = target[i * width + c];
        g[c] = active[c] ? (Sigmoid(z[c]) - t) * weight_of[2 * c + t] : 0.0;
      }
      for (const auto& [row, value] : inputs[i]) {
        float* w = &weights[row * stride + first];
        float* sq = &squared[row * width];
        for (size_t c = 0; c < width; ++c) {
          if (!active[c]) continue;
          const float gradient = static_cast<float>(g[c]) * value + options.l2 * w[c];
          sq[c] += gradient * gradient;
          w[c] -= options.learning_rate * gradient / std::sqrt(sq[c]);
        }
      }
      for (size_t c = 0; c < width; ++c) {
        if (!active[c]) continue;
        bias_squared[c] += g[c] * g[c];
        bias[c] -= options.learning_rate * g[c] / std::sqrt(bias_squared[c]);
      }
    }
  }
  for (size_t c = 0; c < width; ++c)
    if (active[c]) bias_out[first + c] = static_cast<float>(bias[c]);
}

}  // namespace

const ExampleModel::Slot* ExampleModel::Find(uint64_t feature) const {
  const size_t mask = slots_.size() - 1;
  for (size_t at = HomeSlot(feature, mask);; at = (at + 1) & mask) {
    if (slots_[at].key == feature) return &slots_[at];
    if (slots_[at].key == 0) return nullptr;
  }
}

double ExampleModel::Encode(const NormalizedText& text, ModelInput* out) const {
  thread_local RawFeatures raw;
  thread_local std::vector<uint64_t> words;
  out->clear();
  if (empty()) return 0;
  Extract(text, &raw, &words);
  for (const auto& [feature, value] : raw)
    if (const Slot* slot = Find(feature)) out->push_back({slot->row, value, slot->urgency_weight});
  size_t known = 0;
  for (uint64_t word : words) known += Find(word) != nullptr;
  return words.empty() ? 0 : static_cast<double>(known) / static_cast<double>(words.size());
}

ExampleModel::Word ExampleModel::DescribeWord(std::string_view key, std::vector<ModelFeature>* arena) const {
  static const uint64_t kWord = KindSeed('w'), kGram = KindSeed('c');
  Word w;
  w.first = static_cast<uint32_t>(arena->size());
  if (empty() || IsPlaceWord(std::string(key))) return w;
  w.hash = NonZero(Mix(kWord, key));
  w.features = 1;
  if (const Slot* slot = Find(w.hash)) {
    w.known = true;
    arena->push_back({slot->row, 0, slot->urgency_weight});
  }
  // As Extract: the 4-grams of "^word$".
  char32_t window[4] = {U'^', 0, 0, 0};
  size_t filled = 1;
  auto gram = [&](char32_t c) {
    if (filled < 4) {
      window[filled++] = c;
      if (filled < 4) return;
    } else {
      window[0] = window[1], window[1] = window[2], window[2] = window[3], window[3] = c;
    }
    ++w.features;
    const uint64_t h = NonZero(Combine(Combine(Combine(Combine(kGram, window[0]), window[1]), window[2]), window[3]));
    if (const Slot* slot = Find(h)) arena->push_back({slot->row, 0, slot->urgency_weight});
  };
  ForEachCodePoint(key, gram);
  gram(U'$');
  w.count = static_cast<uint32_t>(arena->size()) - w.first;
  return w;
}

double ExampleModel::EncodeWords(const DescribedWord* words, size_t count, ModelInput* out) const {
  static const uint64_t kPair = KindSeed('b');
  out->clear();
  if (empty()) return 0;
  // Extract's order: each word, the pair it closes, its 4-grams; every feature weighs 1/sqrt(n).
  size_t features = 0, described = 0, known = 0;
  for (size_t i = 0; i < count; ++i) {
    const Word& w = *words[i].word;
    if (w.hash == 0) continue;
    features += w.features + (i > 0 ? 1 : 0);
    ++described;
    known += w.known;
  }
  if (features == 0) return 0;
  const auto value = static_cast<float>(1.0 / std::sqrt(static_cast<double>(features)));
  uint64_t previous = 0;
  for (size_t i = 0; i < count; ++i) {
    const Word& w = *words[i].word;
    if (w.hash == 0) continue;
    const ModelFeature* f = words[i].arena + w.first;
    const ModelFeature* end = f + w.count;
    if (w.known) out->push_back({f->row, value, f->urgency_weight}), ++f;
    if (i > 0)
      if (const Slot* slot = Find(NonZero(Combine(Combine(kPair, previous), w.hash)))) out->push_back({slot->row, value, slot->urgency_weight});
    previous = w.hash;
    for (; f != end; ++f) out->push_back({f->row, value, f->urgency_weight});
  }
  return described == 0 ? 0 : static_cast<double>(known) / static_cast<double>(described);
}

double ExampleModel::Urgency(const ModelInput& in) const {
  if (empty()) return 0;
  double z = bias_[0];
  for (const ModelFeature& f : in) z += static_cast<double>(f.urgency_weight) * f.value;
  return Sigmoid(z);
}

double ExampleModel::ClassProbability(const ModelInput& in, int c) const {
  if (empty() || c < 0 || c >= classes_) return 0;
  const size_t stride = static_cast<size_t>(classes_) + 1, column = static_cast<size_t>(c + 1);
  double z = bias_[column];
  for (const ModelFeature& f : in) z += static_cast<double>(weights_[f.row * stride + column]) * f.value;
  return Sigmoid(z);
}

void ExampleModel::ClassProbabilities(const ModelInput& in, std::vector<double>* out) const {
  out->assign(static_cast<size_t>(classes_), 0.0);
  if (empty()) return;
  const size_t stride = static_cast<size_t>(classes_) + 1;
  for (size_t c = 0; c < out->size(); ++c) (*out)[c] = bias_[c + 1];
  for (const ModelFeature& f : in) {
    const float* row = &weights_[f.row * stride + 1];
    for (size_t c = 0; c < out->size(); ++c) (*out)[c] += static_cast<double>(row[c]) * f.value;
  }
  for (double& z : *out) z = Sigmoid(z);
}

ExampleModel ExampleModel::Train(const std::vector<Example>& examples, int class_count, const Options& options) {
  ExampleModel m;
  m.classes_ = std::max(0, class_count);
  const size_t stride = static_cast<size_t>(m.classes_) + 1;
  m.bias_.assign(stride, kBiasWhenAbsent);
  if (examples.empty()) return m;

  // Rows: every feature seen in the examples, in the order first seen.
  std::unordered_map<uint64_t, uint32_t> rows;
  std::vector<std::vector<std::pair<uint32_t, float>>> inputs(examples.size());  // (row, value)
  RawFeatures raw;
  for (size_t i = 0; i < examples.size(); ++i) {
    Extract(examples[i].text, &raw);
    for (const auto& [feature, value] : raw) {
      auto [it, added] = rows.emplace(feature, static_cast<uint32_t>(rows.size()));
      inputs[i].emplace_back(it->second, value);
    }
  }
  m.rows_ = static_cast<uint32_t>(rows.size());
  if (m.rows_ == 0) return m;
  size_t capacity = 16;
  while (capacity < 2 * rows.size()) capacity *= 2;
  m.slots_.assign(capacity, Slot{});
  for (const auto& [feature, row] : rows) {
    size_t at = HomeSlot(feature, capacity - 1);
    while (m.slots_[at].key != 0) at = (at + 1) & (capacity - 1);
    m.slots_[at].key = feature;
    m.slots_[at].row = row;
  }
  m.weights_.assign(static_cast<size_t>(m.rows_) * stride, 0.0f);

  // Logistic regression per column: urgency, then every class against the rest (trained side by
  // side, so each example's weights are touched while they are in cache). AdaGrad; examples in a
  // shuffled order that is the same on every run.
  // Urgency weighs its two classes equally (recall matters more than the base rate); intents keep
  // the base rate, or a message of unseen words would go to whichever intent is rarest.
  TrainColumns(inputs, examples, 0, 1, options.urgency_epochs, /*balance=*/true, options, m.weights_, m.bias_);
  TrainColumns(inputs, examples, 1, stride, options.intent_epochs, /*balance=*/false, options, m.weights_, m.bias_);
  for (Slot& slot : m.slots_)
    if (slot.key != 0) slot.urgency_weight = m.weights_[slot.row * stride];
  return m;
}

}  // namespace bot::intents
