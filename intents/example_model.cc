#include "intents/example_model.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string_view>
#include <unordered_map>

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

// Words, adjacent word pairs and character 4-grams of each word marked "^word$", counted, scaled
// as 1 + log(count) and normalised to unit length so long messages do not shout.
void Extract(const NormalizedText& text, RawFeatures* out) {
  thread_local std::vector<uint64_t> hashes;
  thread_local std::vector<size_t> starts;
  thread_local std::string marked;
  hashes.clear();
  const auto& tokens = text.tokens;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& key = tokens[i].key;
    hashes.push_back(Mix(KindSeed('w'), key));
    if (i + 1 < tokens.size()) hashes.push_back(Mix(Mix(Mix(KindSeed('b'), key), " "), tokens[i + 1].key));
    marked.clear();
    marked += '^';
    marked += key;
    marked += '$';
    starts.clear();
    for (size_t b = 0; b < marked.size(); ++b)
      if ((static_cast<unsigned char>(marked[b]) & 0xC0) != 0x80) starts.push_back(b);
    starts.push_back(marked.size());
    const uint64_t seed = KindSeed('c');
    for (size_t j = 0; j + 4 < starts.size(); ++j)
      hashes.push_back(Mix(seed, std::string_view(marked).substr(starts[j], starts[j + 4] - starts[j])));
  }
  std::sort(hashes.begin(), hashes.end());
  out->clear();
  double norm = 0;
  for (size_t i = 0; i < hashes.size();) {
    size_t j = i;
    while (j < hashes.size() && hashes[j] == hashes[i]) ++j;
    const float value = 1.0f + std::log(static_cast<float>(j - i));
    out->emplace_back(hashes[i] == 0 ? 1 : hashes[i], value);  // 0 marks an empty slot
    norm += static_cast<double>(value) * value;
    i = j;
  }
  if (norm > 0) {
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (auto& f : *out) f.second *= scale;
  }
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-std::clamp(z, -30.0, 30.0))); }

}  // namespace

uint32_t ExampleModel::RowOf(uint64_t feature) const {
  const size_t mask = slot_keys_.size() - 1;
  for (size_t at = (feature * 0x9E3779B97F4A7C15ull) >> 20 & mask;; at = (at + 1) & mask) {
    if (slot_keys_[at] == feature) return slot_rows_[at];
    if (slot_keys_[at] == 0) return UINT32_MAX;
  }
}

double ExampleModel::Encode(const NormalizedText& text, ModelInput* out) const {
  thread_local RawFeatures raw;
  Extract(text, &raw);
  out->clear();
  if (empty()) return 0;
  for (const auto& [feature, value] : raw) {
    const uint32_t row = RowOf(feature);
    if (row != UINT32_MAX) out->emplace_back(row, value);
  }
  size_t known = 0;
  for (const Token& t : text.tokens) known += RowOf(Mix(KindSeed('w'), t.key)) != UINT32_MAX;
  return text.tokens.empty() ? 0 : static_cast<double>(known) / static_cast<double>(text.tokens.size());
}

double ExampleModel::Urgency(const ModelInput& in) const { return ClassProbability(in, -1); }

double ExampleModel::ClassProbability(const ModelInput& in, int c) const {
  if (empty() || c < -1 || c >= classes_) return 0;
  const size_t stride = static_cast<size_t>(classes_) + 1, column = static_cast<size_t>(c + 1);
  double z = bias_[column];
  for (const auto& [row, value] : in) z += static_cast<double>(weights_[row * stride + column]) * value;
  return Sigmoid(z);
}

ExampleModel ExampleModel::Train(const std::vector<Example>& examples, int class_count, const Options& options) {
  ExampleModel m;
  m.classes_ = std::max(0, class_count);
  const size_t stride = static_cast<size_t>(m.classes_) + 1;
  m.bias_.assign(stride, kBiasWhenAbsent);
  if (examples.empty()) return m;

  // Rows: every feature seen in the examples, in the order first seen.
  std::unordered_map<uint64_t, uint32_t> rows;
  std::vector<ModelInput> inputs(examples.size());
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
  m.slot_keys_.assign(capacity, 0);
  m.slot_rows_.assign(capacity, 0);
  for (const auto& [feature, row] : rows) {
    size_t at = (feature * 0x9E3779B97F4A7C15ull) >> 20 & (capacity - 1);
    while (m.slot_keys_[at] != 0) at = (at + 1) & (capacity - 1);
    m.slot_keys_[at] = feature;
    m.slot_rows_[at] = row;
  }
  m.weights_.assign(static_cast<size_t>(m.rows_) * stride, 0.0f);

  // Logistic regression per column (urgency, then each class against the rest), AdaGrad, classes
  // weighted to balance, examples in a shuffled order that is the same on every run.
  std::vector<uint8_t> target(examples.size());
  std::vector<float> squared(m.rows_);
  std::vector<size_t> order(examples.size());
  for (size_t column = 0; column < stride; ++column) {
    size_t positives = 0;
    for (size_t i = 0; i < examples.size(); ++i) {
      target[i] = column == 0 ? examples[i].urgent : examples[i].label == static_cast<int>(column) - 1;
      positives += target[i];
    }
    if (positives == 0) continue;  // keeps kBiasWhenAbsent
    const size_t negatives = examples.size() - positives;
    const double n = static_cast<double>(examples.size());
    const bool balance = column == 0 || options.balance_intents;
    const double weight_of[2] = {!balance ? 1.0 : negatives ? n / (2.0 * negatives) : 0.0,
                                 !balance ? 1.0 : n / (2.0 * positives)};
    std::fill(squared.begin(), squared.end(), 1e-8f);
    double bias = 0, bias_squared = 1e-8;
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::mt19937 rng(1);
    const int epochs = column == 0 ? options.urgency_epochs : options.intent_epochs;
    for (int epoch = 0; epoch < epochs; ++epoch) {
      for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
      for (size_t i : order) {
        double z = bias;
        for (const auto& [row, value] : inputs[i]) z += static_cast<double>(m.weights_[row * stride + column]) * value;
        const double g = (Sigmoid(z) - target[i]) * weight_of[target[i]];
        for (const auto& [row, value] : inputs[i]) {
          float& w = m.weights_[row * stride + column];
          const float gradient = static_cast<float>(g) * value + options.l2 * w;
          squared[row] += gradient * gradient;
          w -= options.learning_rate * gradient / std::sqrt(squared[row]);
        }
        bias_squared += g * g;
        bias -= options.learning_rate * g / std::sqrt(bias_squared);
      }
    }
    m.bias_[column] = static_cast<float>(bias);
  }
  return m;
}

}  // namespace bot::intents
