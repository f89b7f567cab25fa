// Conversion between a dataset's JSON form (what llmeval.import_dataset
// takes: an array of test cases {"input": {...}, "expected": "...",
// "context": "...", "metadata": {...}, "expected_tool_calls": [...],
// "messages": [...], "goal": "...", "contexts": [...], "relevant_ids": [...]
// or {...}}, any
// key but input absent or null) and its CSV form (RFC 4180, a header row;
// the columns named after those fields are those fields; every other column
// is an input field whose value is a string). expected, context and goal
// hold text; the others hold JSON text: metadata an object, expected_tool_calls,
// messages and contexts an array, relevant_ids an array (ids) or an object
// ({"id": grade}). Only that top-level shape is checked here.
//
// Absent and empty are told apart as COPY ... CSV does: an unquoted empty
// field is absent (input key absent, any other field NULL), a quoted one
// ("") is the empty string (in a JSON-valued column, an error: "" is not
// JSON). So CSV -> JSON -> CSV -> JSON and JSON -> CSV -> JSON give back
// the same test cases, with three exceptions a CSV field cannot express:
//  - a non-string input value (number, boolean, null, object, array) is
//    written as its compact JSON text and read back as that string;
//  - "input": null or absent reads back as {} (the JSON form always has an
//    input object); any other field null reads back absent;
//  - numbers (in JSON-valued fields and nested input values) keep their
//    text, except -0, written 0; a number beyond double range (1e999),
//    which jsonb accepts, is rejected by the JSON parser used here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llmeval::core::data {

// The dataset JSON (compact, keys input, expected, context, metadata,
// expected_tool_calls, messages, goal, contexts, relevant_ids in this order;
// "input" always present) of a CSV document. Errors are kBadFileFormat and
// name the line: "invalid CSV at line 3: wrong number of fields",
// "invalid CSV at line 2: messages must be a JSON array". An empty input is
// an error (no header row); a header alone gives [].
std::string DatasetJsonFromCsv(std::string_view csv);

// The CSV of a dataset JSON array: input columns in order of first appearance
// across the test cases, then those of expected, context, metadata,
// expected_tool_calls, messages, goal, contexts and relevant_ids (in this order)
// that some test case has (not null), the JSON-valued ones as compact JSON;
// a dataset with no column at all gets an expected column. Records end
// with CRLF. Malformed JSON is kInvalidTextRepresentation; JSON of the
// wrong shape (not an array of objects, an unknown key, expected not a
// string, messages not an array, an input field named like one of those
// fields' columns, ...) is kInvalidParameterValue.
// column_order, when not empty, is a preferred column order (such as the
// header of the CSV the dataset was imported from): the columns it names
// come first, in its order, then the others as above.
std::string CsvFromDatasetJson(std::string_view json,
                               const std::vector<std::string>& column_order = {});

// The column names of a CSV document's header row, checked as
// DatasetJsonFromCsv checks them.
std::vector<std::string> CsvHeader(std::string_view csv);

}  // namespace llmeval::core::data

#include "core/cpp_only.hpp"
