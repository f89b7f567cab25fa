// Conversation history in each API's form (see history.hpp).
//
// The history is read once into a Conversation: its calls with their final
// ids and the message each tool result answers, every rule checked; each API's
// form is then a plain walk over it. Nothing here depends on anything but the
// history, so the bodies, and the response cache's key, stay deterministic.
#include "core/provider/history.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <set>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/provider/wire.hpp"

namespace llmeval::core::provider::history {

namespace {

using nlohmann::json;

enum class Role { kUser, kAssistant, kTool };

struct Call {
  std::string id;
  std::string name;
  json arguments;            // an object, or the string given
  std::size_t message = 0;   // the index of the assistant message that made it
  std::size_t position = 0;  // its index in that message's tool_calls
};

struct Message {
  Role role = Role::kUser;
  std::string text;                // user and assistant
  std::vector<std::size_t> calls;  // assistant: indexes into Conversation::calls
  std::size_t answers = 0;         // tool: the call it answers
  json content;                    // tool: the result ("" when none was given)
};

struct Conversation {
  std::vector<Call> calls;
  std::vector<Message> messages;
};

[[noreturn]] void Invalid(const std::string& message, std::string detail = {}) {
  throw Error(ErrorKind::kInvalidParameterValue, message, std::move(detail));
}

std::string At(std::size_t index) { return "history message " + std::to_string(index); }

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

const json& Field(const json& object, const char* key) { return wire::Member(object, key); }

// The ids the history gives its calls, so that the ids made up for the
// others ("call_<n>") do not take one of them.
std::set<std::string> GivenIds(const json& history) {
  std::set<std::string> ids;
  for (const json& m : history) {
    const json& calls = Field(m, "tool_calls");
    if (!calls.is_array()) continue;
    for (const json& c : calls) {
      const json& id = Field(c, "id");
      if (id.is_string() && !id.get_ref<const std::string&>().empty())
        ids.insert(id.get<std::string>());
    }
  }
  return ids;
}

// Text content: a string, or (assistant only) null or absent for none.
std::string Text(const json& m, std::size_t index, bool optional, const char* role) {
  const json& content = Field(m, "content");
  if (content.is_string()) return content.get<std::string>();
  if (optional && content.is_null()) return {};
  Invalid(At(index) + ": " + role + " content must be a string",
          std::string("A ") + role + " message's content is its text" +
              (optional ? " (or null, or absent, for none)." : "."));
}

void ReadCalls(const json& m, std::size_t index, const std::set<std::string>& given,
               Conversation& c, std::set<std::string>& made, Message& out) {
  const json& calls = Field(m, "tool_calls");
  if (calls.is_null()) return;
  if (!calls.is_array()) Invalid(At(index) + ": tool_calls must be an array");
  for (std::size_t k = 0; k < calls.size(); ++k) {
    const json& call = calls[k];
    const std::string where = At(index) + ": tool call " + std::to_string(k);
    const json& name = Field(call, "name");
    if (!name.is_string() || name.get_ref<const std::string&>().empty())
      Invalid(where + " has no name",
              "A tool call is an object {\"id\" (optional), \"name\", \"arguments\"}.");
    Call out_call;
    out_call.name = name.get<std::string>();
    out_call.message = index;
    out_call.position = k;
    const json& id = Field(call, "id");
    if (!id.is_null() && !id.is_string()) Invalid(where + " has an id that is not a string");
    if (id.is_string()) out_call.id = id.get<std::string>();
    if (out_call.id.empty()) {
      out_call.id = "call_" + std::to_string(c.calls.size());
      while (given.count(out_call.id) || made.count(out_call.id)) out_call.id += "_";
      made.insert(out_call.id);
    }
    const json& arguments = Field(call, "arguments");
    if (arguments.is_null()) {
      out_call.arguments = json::object();
    } else if (arguments.is_object() || arguments.is_string()) {
      out_call.arguments = arguments;
    } else {
      Invalid(where + " (" + Quoted(out_call.name) + ") has arguments that are not a JSON object",
              "Arguments are a JSON object, or a string holding one.");
    }
    out.calls.push_back(c.calls.size());
    c.calls.push_back(std::move(out_call));
  }
}

// Every call made so far must have its result before another message.
void CheckAnswered(const Conversation& c, const std::vector<std::size_t>& pending,
                   const char* before) {
  if (pending.empty()) return;
  const Call& call = c.calls[pending.front()];
  Invalid("tool call " + Quoted(call.id) + " (" + Quoted(call.name) + ") of " + At(call.message) +
              " has no result",
          std::string("Each tool call must be answered by a tool message before ") + before + ".");
}

Conversation Read(const json& history) {
  Conversation c;
  if (history.is_null()) return c;
  if (!history.is_array())
    Invalid("conversation history must be a JSON array",
            "The history is an array of messages {\"role\": \"user\" | \"assistant\" | \"tool\", "
            "...}.");
  const std::set<std::string> given = GivenIds(history);
  std::set<std::string> made;
  std::vector<std::size_t> pending;  // the calls not yet answered, in order
  for (std::size_t i = 0; i < history.size(); ++i) {
    const json& m = history[i];
    const json& role = Field(m, "role");
    if (!role.is_string()) Invalid(At(i) + " is not an object with a role");
    const std::string& r = role.get_ref<const std::string&>();
    Message out;
    if (r == "user") {
      CheckAnswered(c, pending, "the next user message");
      out.role = Role::kUser;
      out.text = Text(m, i, false, "user");
    } else if (r == "assistant") {
      CheckAnswered(c, pending, "the next assistant message");
      out.role = Role::kAssistant;
      out.text = Text(m, i, true, "assistant");
      ReadCalls(m, i, given, c, made, out);
      pending = out.calls;
    } else if (r == "tool") {
      out.role = Role::kTool;
      const json& id = Field(m, "tool_call_id");
      if (!id.is_null() && !id.is_string()) Invalid(At(i) + ": tool_call_id must be a string");
      const std::string wanted = id.is_string() ? id.get<std::string>() : std::string();
      auto it = pending.begin();
      if (!wanted.empty()) {
        it = std::find_if(pending.begin(), pending.end(),
                          [&](std::size_t k) { return c.calls[k].id == wanted; });
      }
      if (it == pending.end())
        Invalid(At(i) + " answers no tool call",
                wanted.empty() ? "No earlier tool call is waiting for its result."
                               : "No unanswered tool call of the last assistant message has id " +
                                     Quoted(wanted) + ".");
      const json& name = Field(m, "name");
      if (!name.is_null() && !name.is_string()) Invalid(At(i) + ": name must be a string");
      if (name.is_string() && !name.get_ref<const std::string&>().empty() &&
          name.get_ref<const std::string&>() != c.calls[*it].name)
        Invalid(At(i) + " names tool " + Quoted(name.get_ref<const std::string&>()) +
                " but answers a call of " + Quoted(c.calls[*it].name));
      out.answers = *it;
      pending.erase(it);
      const json& content = Field(m, "content");
      out.content = content.is_null() ? json("") : content;
    } else {
      Invalid(
          At(i) + " has unknown role " + Quoted(r),
          "A history message's role is \"user\", \"assistant\" or \"tool\"; the system prompt is "
          "set apart.");
    }
    c.messages.push_back(std::move(out));
  }
  CheckAnswered(c, pending, "the end of the history");
  return c;
}

// A result as text: a string as it is, another value as JSON.
std::string ResultText(const json& content) {
  return content.is_string() ? content.get<std::string>() : wire::Dump(content);
}

// Arguments as OpenAI takes them: a string (as it was given, else the object dumped).
std::string ArgumentsText(const Call& call) {
  return call.arguments.is_string() ? call.arguments.get<std::string>()
                                    : wire::Dump(call.arguments);
}

// Arguments as Anthropic and Gemini take them: an object.
json ArgumentsObject(const Call& call) {
  if (call.arguments.is_object()) return call.arguments;
  const std::string& text = call.arguments.get_ref<const std::string&>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_object()) return parsed;
  Invalid(At(call.message) + ": tool call " + std::to_string(call.position) + " (" +
              Quoted(call.name) + ") has arguments that are not a JSON object",
          parsed.is_discarded() ? "Its arguments string is not JSON."
                                : "Its arguments string holds JSON that is not an object.");
}

// A turn of the APIs that want roles to alternate, merged with its neighbours
// of the same role: results (tool_result blocks, functionResponse parts) go first.
struct Turn {
  std::string role;
  json results = json::array();
  json others = json::array();
};

void Push(std::vector<Turn>& turns, Turn turn) {
  if (turn.results.empty() && turn.others.empty()) return;
  if (!turns.empty() && turns.back().role == turn.role) {
    Turn& last = turns.back();
    for (json& x : turn.results) last.results.push_back(std::move(x));
    for (json& x : turn.others) last.others.push_back(std::move(x));
    return;
  }
  turns.push_back(std::move(turn));
}

json Parts(Turn& turn) {
  json parts = std::move(turn.results);
  for (json& x : turn.others) parts.push_back(std::move(x));
  return parts;
}

}  // namespace

bool SendsPrompt(const json& history, std::string_view prompt) {
  return !prompt.empty() || !history.is_array() || history.empty();
}

json OpenAIChatMessages(const json& history, std::string_view prompt) {
  const Conversation c = Read(history);
  json messages = json::array();
  for (const Message& m : c.messages) {
    if (m.role == Role::kUser) {
      messages.push_back({{"role", "user"}, {"content", m.text}});
    } else if (m.role == Role::kAssistant) {
      json out = {{"role", "assistant"}, {"content", m.text}};
      if (!m.calls.empty()) {
        if (m.text.empty()) out["content"] = nullptr;
        json calls = json::array();
        for (std::size_t k : m.calls) {
          const Call& call = c.calls[k];
          calls.push_back(
              {{"id", call.id},
               {"type", "function"},
               {"function", {{"name", call.name}, {"arguments", ArgumentsText(call)}}}});
        }
        out["tool_calls"] = std::move(calls);
      }
      messages.push_back(std::move(out));
    } else {
      messages.push_back({{"role", "tool"},
                          {"tool_call_id", c.calls[m.answers].id},
                          {"content", ResultText(m.content)}});
    }
  }
  if (SendsPrompt(history, prompt)) messages.push_back({{"role", "user"}, {"content", prompt}});
  return messages;
}

json ResponsesInput(const json& history, std::string_view prompt) {
  const Conversation c = Read(history);
  json input = json::array();
  for (const Message& m : c.messages) {
    if (m.role == Role::kUser) {
      input.push_back({{"role", "user"}, {"content", m.text}});
    } else if (m.role == Role::kAssistant) {
      // An empty assistant message says nothing; its calls are items of their own.
      if (!m.text.empty() || m.calls.empty())
        input.push_back({{"role", "assistant"}, {"content", m.text}});
      for (std::size_t k : m.calls) {
        const Call& call = c.calls[k];
        input.push_back({{"type", "function_call"},
                         {"call_id", call.id},
                         {"name", call.name},
                         {"arguments", ArgumentsText(call)}});
      }
    } else {
      input.push_back({{"type", "function_call_output"},
                       {"call_id", c.calls[m.answers].id},
                       {"output", ResultText(m.content)}});
    }
  }
  if (SendsPrompt(history, prompt)) input.push_back({{"role", "user"}, {"content", prompt}});
  return input;
}

json AnthropicMessages(const json& history, const json& prompt_content) {
  const Conversation c = Read(history);
  // No history: the prompt as it always went, even empty.
  if (c.messages.empty())
    return json::array(
        {{{"role", "user"}, {"content", prompt_content.is_null() ? json("") : prompt_content}}});
  std::vector<Turn> turns;
  auto text_block = [](const std::string& text) { return json{{"type", "text"}, {"text", text}}; };
  for (const Message& m : c.messages) {
    Turn turn;
    if (m.role == Role::kUser) {
      turn.role = "user";
      if (!m.text.empty()) turn.others.push_back(text_block(m.text));
    } else if (m.role == Role::kAssistant) {
      turn.role = "assistant";
      if (!m.text.empty()) turn.others.push_back(text_block(m.text));
      for (std::size_t k : m.calls) {
        const Call& call = c.calls[k];
        turn.others.push_back({{"type", "tool_use"},
                               {"id", AnthropicToolId(call.id)},
                               {"name", call.name},
                               {"input", ArgumentsObject(call)}});
      }
    } else {
      turn.role = "user";
      json block = {{"type", "tool_result"},
                    {"tool_use_id", AnthropicToolId(c.calls[m.answers].id)}};
      std::string text = ResultText(m.content);
      if (!text.empty()) block["content"] = std::move(text);
      turn.results.push_back(std::move(block));
    }
    Push(turns, std::move(turn));
  }
  if (prompt_content.is_string()) {
    const std::string& text = prompt_content.get_ref<const std::string&>();
    Push(turns, Turn{"user", json::array(),
                     text.empty() ? json::array() : json::array({text_block(text)})});
  } else if (prompt_content.is_array()) {
    Push(turns, Turn{"user", json::array(), prompt_content});
  }
  json messages = json::array();
  for (Turn& turn : turns) {
    json blocks = Parts(turn);
    // A lone text block goes as a plain string, as a prompt always has.
    const bool plain =
        blocks.size() == 1 && blocks[0]["type"] == "text" && !blocks[0].contains("cache_control");
    messages.push_back({{"role", turn.role}, {"content", plain ? blocks[0]["text"] : blocks}});
  }
  if (messages.empty()) messages.push_back({{"role", "user"}, {"content", ""}});
  return messages;
}

json GeminiContents(const json& history, std::string_view prompt) {
  const Conversation c = Read(history);
  if (c.messages.empty())
    return json::array({{{"role", "user"}, {"parts", json::array({{{"text", prompt}}})}}});
  std::vector<Turn> turns;
  for (std::size_t i = 0; i < c.messages.size();) {
    const Message& m = c.messages[i];
    Turn turn;
    if (m.role == Role::kTool) {
      // A run of results, in the order of the calls they answer: Gemini
      // matches them to the calls by position.
      std::vector<std::size_t> answered;
      for (; i < c.messages.size() && c.messages[i].role == Role::kTool; ++i) answered.push_back(i);
      std::stable_sort(answered.begin(), answered.end(), [&](std::size_t a, std::size_t b) {
        return c.messages[a].answers < c.messages[b].answers;
      });
      turn.role = "user";
      for (std::size_t k : answered) {
        const Message& result = c.messages[k];
        json response = result.content;
        if (response.is_string()) {
          json parsed = json::parse(response.get_ref<const std::string&>(), nullptr, false);
          if (parsed.is_object()) response = std::move(parsed);
        }
        if (!response.is_object()) response = {{"result", std::move(response)}};
        turn.results.push_back(
            {{"functionResponse",
              {{"name", c.calls[result.answers].name}, {"response", std::move(response)}}}});
      }
      Push(turns, std::move(turn));
      continue;
    }
    turn.role = m.role == Role::kUser ? "user" : "model";
    if (!m.text.empty()) turn.others.push_back({{"text", m.text}});
    for (std::size_t k : m.calls) {
      const Call& call = c.calls[k];
      turn.others.push_back(
          {{"functionCall", {{"name", call.name}, {"args", ArgumentsObject(call)}}}});
    }
    Push(turns, std::move(turn));
    ++i;
  }
  if (!prompt.empty()) Push(turns, Turn{"user", json::array(), json::array({{{"text", prompt}}})});
  json contents = json::array();
  for (Turn& turn : turns) contents.push_back({{"role", turn.role}, {"parts", Parts(turn)}});
  if (contents.empty())
    contents.push_back({{"role", "user"}, {"parts", json::array({{{"text", prompt}}})}});
  return contents;
}

std::string AnthropicToolId(std::string_view id) {
  const auto allowed = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  };
  if (!id.empty() && std::all_of(id.begin(), id.end(), allowed)) return std::string(id);
  std::string out;
  for (char ch : id) out += allowed(ch) ? ch : '_';
  // FNV-1a: stable across builds and platforms, unlike std::hash.
  uint32_t hash = 2166136261u;
  for (unsigned char ch : id) hash = (hash ^ ch) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", hash);
  return out + "_" + hex;
}

}  // namespace llmeval::core::provider::history
