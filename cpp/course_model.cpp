// course_model: runs a TorchScript export of the pipeline (exports/<model>/model.ts) from C++,
// as the course's deployment lesson does with the PyTorch C++ API.
//
//   course_model run MODEL.ts INPUTS.pt OUTPUTS.pt [--batch N]
//       INPUTS.pt holds one tensor saved by Python's torch.save (rows along dimension 0), or a
//       list of tensors, the model's positional arguments. One tensor is run N rows at a time
//       (default 256) and the outputs are joined; a list is one call. OUTPUTS.pt is readable by
//       torch.load (weights_only too): the output tensor, or a tuple of them.
//   course_model bench MODEL.ts INPUTS.pt [--repeat N]
//       Times one call on INPUTS.pt (a tensor: one batch) N times (default 20) after a warm-up
//       call; prints the median seconds per call (make bench uses it).
//   course_model generate MODEL.ts --prime TEXT [--length N] [--top-k K] [--seed S]
//       The character model (any cell: LSTM, GRU, RNN): prints TEXT and N characters, each drawn
//       from the K most likely (--top-k 1 is greedy decoding). The vocabulary travels inside model.ts.
//
// Exit status: 0 on success, 2 on bad usage or input (one line on stderr), 1 on anything else.
#include <torch/script.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* kUsage =
    "usage: course_model run MODEL.ts INPUTS.pt OUTPUTS.pt [--batch N]\n"
    "       course_model bench MODEL.ts INPUTS.pt [--repeat N]\n"
    "       course_model generate MODEL.ts --prime TEXT [--length N] [--top-k K] [--seed S]\n";

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<char>& bytes) {
  const std::string tmp = path + ".tmp";  // then renamed: no half-written output
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw UsageError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw UsageError("cannot write " + path);
}

torch::jit::Module load_model(const std::string& path,
                              torch::jit::ExtraFilesMap* extra = nullptr) {
  read_file(path);  // a clear message for a missing file
  try {
    torch::jit::ExtraFilesMap none;
    auto module = torch::jit::load(path, torch::kCPU, extra ? *extra : none);
    module.eval();
    return module;
  } catch (const c10::Error&) {
    throw UsageError(path + " is not a TorchScript model (expected exports/<model>/model.ts)");
  }
}

// "--name value" options after the positional arguments.
std::unordered_map<std::string, std::string> options(const std::vector<std::string>& args,
                                                     size_t first,
                                                     const std::vector<std::string>& known) {
  std::unordered_map<std::string, std::string> out;
  for (size_t i = first; i < args.size(); i += 2) {
    const auto& name = args[i];
    if (std::find(known.begin(), known.end(), name) == known.end())
      throw UsageError("unknown option " + name);
    if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
    out[name] = args[i + 1];
  }
  return out;
}

int64_t integer(const std::unordered_map<std::string, std::string>& opts, const std::string& name,
                int64_t fallback, int64_t minimum) {
  auto it = opts.find(name);
  if (it == opts.end()) return fallback;
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || value < minimum)
    throw UsageError(name + " must be an integer >= " + std::to_string(minimum) + ", got '" +
                     it->second + "'");
  return value;
}

c10::IValue load_inputs(const std::string& path) {
  try {
    return torch::jit::pickle_load(read_file(path));
  } catch (const c10::Error&) {
    throw UsageError(path + " is not a tensor file written by torch.save");
  }
}

int run(const std::vector<std::string>& args) {
  if (args.size() < 4) throw UsageError("run needs MODEL.ts INPUTS.pt OUTPUTS.pt");
  auto opts = options(args, 4, {"--batch"});
  const int64_t batch = integer(opts, "--batch", 256, 1);
  auto model = load_model(args[1]);
  const c10::IValue inputs = load_inputs(args[2]);
  torch::NoGradGuard no_grad;
  c10::IValue result;
  if (inputs.isTensor()) {
    const auto x = inputs.toTensor();
    std::vector<torch::Tensor> parts;
    for (int64_t start = 0; start < x.size(0); start += batch)
      parts.push_back(model.forward({x.slice(0, start, start + batch)}).toTensor());
    result = parts.empty() ? model.forward({x}).toTensor() : torch::cat(parts);
  } else if (inputs.isList() || inputs.isTuple()) {
    std::vector<c10::IValue> call;
    if (inputs.isList())
      for (const auto& v : inputs.toListRef()) call.push_back(v);
    else
      for (const auto& v : inputs.toTupleRef().elements()) call.push_back(v);
    result = model.forward(call);  // a tensor, or a tuple of them (saved as a tuple)
  } else {
    throw UsageError(args[2] + " must hold a tensor or a list of tensors");
  }
  write_file(args[3], torch::jit::pickle_save(result));
  return 0;
}

int bench(const std::vector<std::string>& args) {
  if (args.size() < 3) throw UsageError("bench needs MODEL.ts INPUTS.pt");
  auto opts = options(args, 3, {"--repeat"});
  const int64_t repeat = integer(opts, "--repeat", 20, 1);
  auto model = load_model(args[1]);
  const c10::IValue inputs = load_inputs(args[2]);
  if (!inputs.isTensor()) throw UsageError(args[2] + " must hold one tensor (one batch)");
  torch::NoGradGuard no_grad;
  model.forward({inputs});  // warm-up: the first call optimizes the graph
  std::vector<double> seconds;
  for (int64_t i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    model.forward({inputs});
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::cout << seconds[seconds.size() / 2] << std::endl;
  return 0;
}

// UTF-8 <-> code points: the vocabulary is stored as code points, the prime comes as UTF-8.
std::vector<uint32_t> decode_utf8(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) throw UsageError("the prime is not valid UTF-8");
    uint32_t cp = n == 1 ? b : b & (0xFF >> (n + 1));
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string encode_utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// The same steps as pipeline/charrnn.py's sample(), with the same random generator (mt19937 seeded
// like torch.Generator().manual_seed), so that a seed gives Python's text.
int generate(const std::vector<std::string>& args) {
  if (args.size() < 2) throw UsageError("generate needs MODEL.ts");
  auto opts = options(args, 2, {"--prime", "--length", "--top-k", "--seed"});
  const int64_t length = integer(opts, "--length", 200, 0);
  const int64_t top_k = integer(opts, "--top-k", 5, 1);
  const int64_t seed = integer(opts, "--seed", 0, 0);
  if (!opts.count("--prime") || opts["--prime"].empty()) throw UsageError("generate needs --prime TEXT");
  torch::jit::ExtraFilesMap extra{{"vocabulary.codepoints", ""}, {"state.shape", ""}};
  auto model = load_model(args[1], &extra);
  std::vector<uint32_t> vocabulary;
  std::istringstream codes(extra["vocabulary.codepoints"]);
  for (uint32_t cp; codes >> cp;) vocabulary.push_back(cp);
  if (vocabulary.empty()) throw UsageError(args[1] + " is not a character model (it has no vocabulary)");
  std::unordered_map<uint32_t, int64_t> index;
  for (size_t i = 0; i < vocabulary.size(); ++i) index[vocabulary[i]] = static_cast<int64_t>(i);

  std::vector<int64_t> prime;
  for (uint32_t cp : decode_utf8(opts["--prime"])) {
    auto it = index.find(cp);
    if (it == index.end()) throw UsageError("the prime has a character the corpus lacks: '" + encode_utf8(cp) + "'");
    prime.push_back(it->second);
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  torch::NoGradGuard no_grad;
  // The state h, c is (layers, batch, hidden), zeros to start. Every cell takes and returns both:
  // a GRU or vanilla RNN gives c back unchanged (pipeline/models/charrnn.py), so one loop serves all.
  int64_t layers = 0, hidden = 0;
  std::istringstream(extra["state.shape"]) >> layers >> hidden;
  if (layers < 1 || hidden < 1) throw UsageError(args[1] + " does not say its state's shape (state.shape)");
  auto h = torch::zeros({layers, 1, hidden}), c = torch::zeros({layers, 1, hidden});
  auto step = [&](const torch::Tensor& x) {
    auto out = model.forward({x, h, c}).toTuple();
    h = out->elements()[1].toTensor();
    c = out->elements()[2].toTensor();
    return out->elements()[0].toTensor();
  };
  auto logits = step(torch::tensor(prime, torch::kInt64).unsqueeze(0));
  std::string text = opts["--prime"];
  const int64_t k = std::min<int64_t>(top_k, static_cast<int64_t>(vocabulary.size()));
  for (int64_t i = 0; i < length; ++i) {
    auto probs = torch::softmax(logits[0][-1], -1);
    auto [top_p, top_i] = probs.topk(k);
    const int64_t choice = top_i[torch::multinomial(top_p / top_p.sum(), 1, false, generator).item<int64_t>()].item<int64_t>();
    text += encode_utf8(vocabulary[choice]);
    logits = step(torch::tensor({{choice}}, torch::kInt64));
  }
  std::cout << text << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (!args.empty() && args[0] == "run") return run(args);
    if (!args.empty() && args[0] == "generate") return generate(args);
    if (!args.empty() && args[0] == "bench") return bench(args);
    std::cerr << kUsage;
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "course_model: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "course_model: " << e.what() << "\n";
    return 1;
  }
}
