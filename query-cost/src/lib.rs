//! What a GraphQL operation may cost to answer, counting list sizes: a field
//! costs one, plus its selection times how many items it may return. Used
//! by the router's limits plugin before a query is planned and by every
//! subgraph before it executes, so that nested lists (`attendance → event →
//! attendance → ...`) are refused before they multiply.
//!
//! Schema-agnostic on purpose (the router checks before it plans, and one
//! rule serves every subgraph): a field multiplies by its `first` argument,
//! or by the default page size of the paged fields in [`PAGED_FIELDS`]; an
//! `_entities` fetch by its number of representations.

pub mod document;

use std::collections::HashMap;

use async_graphql_parser::{
    types::{DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet},
    Positioned,
};
use async_graphql_value::{ConstValue, Value};

/// The list fields of the supergraph and how many items they return when
/// `first` is not given: the API contract's default page sizes, and for the
/// unpaged lists their bounds (`MAX_CHECK_IN_STAFF`, `MAX_STAFFED_EVENTS` and
/// `MAX_REVOKED_TICKETS` in attendance).
pub const PAGED_FIELDS: [(&str, u64); 9] = [
    ("events", 20),
    ("attendance", 50),
    ("attendances", 50),
    ("eventAttendance", 50),
    ("scanLog", 50),
    ("checkInStaff", 50),
    ("checkInStaffAt", 100),
    ("registrations", 50),
    ("revokedTickets", 1_000),
];

/// Fields that return one item per element of a list argument (and what to
/// assume when that length is unknown): an `_entities` fetch, an offline
/// scanner's upload (at most 500 scans, `MAX_SYNC_SCANS` in attendance).
pub const LIST_ARGUMENT_FIELDS: [(&str, &str, u64); 2] =
    [("_entities", "representations", 1), ("syncScans", "scans", 500)];

/// Limits that keep every documented query (a door list of 1,000 with emails
/// costs about 5,000) well inside, and refuse two nested lists of 1,000.
pub const DEFAULT_MAX_COST: u64 = 50_000;
pub const DEFAULT_MAX_DEPTH: usize = 12;
/// Fields one operation may resolve once its fragments are expanded, each
/// alias counted once whatever the lists around it (async-graphql's
/// "complexity", which every subgraph also limits to this).
pub const MAX_RESOLVED_FIELDS: u64 = 2_000;

/// How deep fragment spreads may nest while estimating (as the subgraphs' parser limit).
const MAX_FRAGMENT_NESTING: usize = 64;

/// A variable's value, as far as costs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableValue {
    Int(i64),
    List(usize),
    Other,
}

/// The estimate of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Estimate {
    pub cost: u64,
    pub depth: usize,
    /// Fields resolved once fragments are expanded, lists not multiplied.
    pub fields: u64,
}

/// Why an operation is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TooCostly { cost: u64, max: u64 },
    TooDeep { depth: usize, max: usize },
    TooManyResolvedFields { fields: u64 },
    FragmentsTooDeep,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::TooCostly { cost, max } => write!(
                f,
                "the operation may cost {cost} to answer (each field 1, times the items of the lists around it); at most {max} is accepted: ask for smaller pages or fewer nested lists"
            ),
            Refusal::TooDeep { depth, max } => {
                write!(f, "the operation nests {depth} fields deep; at most {max} are accepted")
            }
            Refusal::TooManyResolvedFields { fields } => write!(
                f,
                "the operation resolves {fields} fields once its fragments are expanded; at most {MAX_RESOLVED_FIELDS} are accepted"
            ),
            Refusal::FragmentsTooDeep => {
                write!(f, "fragments may nest at most {MAX_FRAGMENT_NESTING} levels deep")
            }
        }
    }
}

/// The estimate of the operation `operation_name` (or the only one) of
/// `document`; `variable` looks a variable up by name.
pub fn estimate(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variable: &dyn Fn(&str) -> VariableValue,
) -> Result<Estimate, Refusal> {
    let Some(operation) = operation(document, operation_name) else {
        return Ok(Estimate::default());
    };
    // A variable the request leaves out takes its default from the operation
    // (`query($n: Int = 1000)`): priced as it will run.
    let defaults: HashMap<&str, VariableValue> = operation
        .variable_definitions
        .iter()
        .filter_map(|definition| {
            let default = definition.node.default_value.as_ref()?;
            let value = match &default.node {
                ConstValue::Number(n) => n.as_i64().map_or(VariableValue::Other, VariableValue::Int),
                ConstValue::List(items) => VariableValue::List(items.len()),
                _ => VariableValue::Other,
            };
            Some((definition.node.name.node.as_str(), value))
        })
        .collect();
    let with_defaults = |name: &str| match variable(name) {
        VariableValue::Other => defaults.get(name).copied().unwrap_or(VariableValue::Other),
        given => given,
    };
    let mut walker = Walker { document, variable: &with_defaults, fragments: HashMap::new() };
    walker.selection_set(&operation.selection_set.node, 0)
}

/// Refuses an estimate over `max_cost` or `max_depth`, or one that resolves
/// more than [`MAX_RESOLVED_FIELDS`].
pub fn check(estimate: Estimate, max_cost: u64, max_depth: usize) -> Result<Estimate, Refusal> {
    if estimate.depth > max_depth {
        return Err(Refusal::TooDeep { depth: estimate.depth, max: max_depth });
    }
    if estimate.fields > MAX_RESOLVED_FIELDS {
        return Err(Refusal::TooManyResolvedFields { fields: estimate.fields });
    }
    if estimate.cost > max_cost {
        return Err(Refusal::TooCostly { cost: estimate.cost, max: max_cost });
    }
    Ok(estimate)
}

/// The operation `name` of `document`, or its only one.
pub fn operation<'a>(document: &'a ExecutableDocument, name: Option<&str>) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name).map(|o| &o.node),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|o| &o.node)
        }
        _ => None,
    }
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    variable: &'a dyn Fn(&str) -> VariableValue,
    /// A fragment costs the same wherever it is spread: computed once.
    fragments: HashMap<&'a str, Estimate>,
}

impl<'a> Walker<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, nesting: usize) -> Result<Estimate, Refusal> {
        if nesting > MAX_FRAGMENT_NESTING {
            return Err(Refusal::FragmentsTooDeep);
        }
        let mut total = Estimate::default();
        for item in &set.items {
            let part = match &item.node {
                Selection::Field(field) => self.field(&field.node, nesting)?,
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => self.fragment(spread.node.fragment_name.node.as_str(), nesting)?,
            };
            total.cost = total.cost.saturating_add(part.cost);
            total.depth = total.depth.max(part.depth);
            total.fields = total.fields.saturating_add(part.fields);
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'a str, nesting: usize) -> Result<Estimate, Refusal> {
        if let Some(known) = self.fragments.get(name) {
            return Ok(*known);
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Estimate::default());
        };
        // A cycle (refused by validation later) ends at the nesting bound.
        let estimate = self.selection_set(&fragment.node.selection_set.node, nesting + 1)?;
        self.fragments.insert(name, estimate);
        Ok(estimate)
    }

    fn field(&mut self, field: &'a Field, nesting: usize) -> Result<Estimate, Refusal> {
        let children = self.selection_set(&field.selection_set.node, nesting)?;
        let items = self.items(field);
        Ok(Estimate {
            cost: 1u64.saturating_add(items.saturating_mul(children.cost)),
            depth: 1 + children.depth,
            fields: 1u64.saturating_add(children.fields),
        })
    }

    /// How many items a field may return: its `first`, the length of the
    /// list argument of a [`LIST_ARGUMENT_FIELDS`] field, a paged field's
    /// default page; else one.
    fn items(&self, field: &Field) -> u64 {
        let name = field.name.node.as_str();
        let argument = |wanted: &str| -> Option<&Positioned<Value>> {
            field.arguments.iter().find(|(n, _)| n.node.as_str() == wanted).map(|(_, v)| v)
        };
        if let Some((_, list, unknown)) = LIST_ARGUMENT_FIELDS.iter().find(|(field, _, _)| *field == name) {
            return match argument(list).map(|v| &v.node) {
                Some(Value::List(items)) => items.len() as u64,
                Some(Value::Variable(var)) => match (self.variable)(var.as_str()) {
                    VariableValue::List(n) => n as u64,
                    _ => *unknown,
                },
                _ => *unknown,
            };
        }
        let first = match argument("first").map(|v| &v.node) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::Variable(var)) => match (self.variable)(var.as_str()) {
                VariableValue::Int(n) => Some(n),
                _ => None,
            },
            _ => None,
        };
        match first {
            Some(n) => n.max(1) as u64,
            None => PAGED_FIELDS.iter().find(|(paged, _)| *paged == name).map_or(1, |(_, size)| *size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost_of(query: &str, variable: &dyn Fn(&str) -> VariableValue) -> Result<Estimate, Refusal> {
        estimate(&async_graphql_parser::parse_query(query).unwrap(), None, variable)
    }

    fn none(_: &str) -> VariableValue {
        VariableValue::Other
    }

    #[test]
    fn an_upload_multiplies_by_its_scans() {
        let upload = "mutation($s: [ScanInput!]!) { syncScans(eventId: \"e\", scans: $s) { scan { user { email } } } }";
        let sized = |n| move |_: &str| VariableValue::List(n);
        assert_eq!(cost_of(upload, &sized(10)).unwrap().cost, 1 + 10 * (1 + 1 + 1));
        assert_eq!(cost_of(upload, &none).unwrap().cost, 1 + 500 * 3, "unknown: the most one call takes");
    }

    #[test]
    fn lists_multiply_what_they_select() {
        let door = "query($id: ID!) { event(id: $id) { attendance(first: 1000) { nodes { user { email } } } } }";
        let door = cost_of(door, &none).unwrap();
        assert_eq!(door, Estimate { cost: 1 + 1 + 1000 * (1 + 1 + 1), depth: 5, fields: 5 });
        assert!(check(door, DEFAULT_MAX_COST, DEFAULT_MAX_DEPTH).is_ok());
        // The report's blow-up: four nested lists of 1,000.
        let nested = "query($id:ID!){event(id:$id){attendance(first:1000){nodes{event{attendance(first:1000){nodes{event{attendance(first:1000){nodes{event{attendance(first:1000){nodes{event{id}}}}}}}}}}}}}}";
        let refused = check(cost_of(nested, &none).unwrap(), DEFAULT_MAX_COST, 100).unwrap_err();
        assert!(matches!(refused, Refusal::TooCostly { .. }), "{refused}");
        assert!(refused.to_string().contains("at most 50000"), "{refused}");
        let deep = check(cost_of(nested, &none).unwrap(), u64::MAX, DEFAULT_MAX_DEPTH).unwrap_err();
        assert!(matches!(deep, Refusal::TooDeep { depth: 14, .. }), "{deep}");
    }

    #[test]
    fn defaults_variables_entities_and_fragments_count() {
        // Paged fields without `first` take their default page size.
        assert_eq!(cost_of("{ events { nodes { id } } }", &none).unwrap().cost, 1 + 20 * 2);
        let first = |name: &str| if name == "n" { VariableValue::Int(100) } else { VariableValue::Other };
        assert_eq!(cost_of("query($n: Int) { events(first: $n) { nodes { id } } }", &first).unwrap().cost, 201);
        // A variable left out is priced at its default in the operation.
        let defaulted = "query($n: Int = 1000) { eventAttendance(eventId: 1, first: $n) { nodes { id } } }";
        assert_eq!(cost_of(defaulted, &none).unwrap().cost, 1 + 1000 * 2);
        assert_eq!(cost_of(defaulted, &first).unwrap().cost, 1 + 100 * 2, "a value given wins");
        let reps = |_: &str| VariableValue::List(1000);
        let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email name } } }";
        assert_eq!(cost_of(entities, &reps).unwrap().cost, 1 + 1000 * 2);
        // Aliases are fields too; fragments cost where they are spread, computed once.
        let aliased = "{ a: events(first: 100) { ...F } b: events(first: 100) { ...F } } fragment F on EventConnection { nodes { id title } }";
        assert_eq!(cost_of(aliased, &none).unwrap().cost, 2 * (1 + 100 * 3));
        // A fan-out of fragments is computed without expanding it (10^4 spreads).
        let ten = |body: &str| std::iter::repeat_n(body, 10).collect::<Vec<_>>().join(" ");
        let bomb = format!(
            "{{ ...A }} fragment A on Query {{ {} }} fragment B on Query {{ {} }} fragment C on Query {{ {} }} fragment D on Query {{ __typename }}",
            ten("...B"), ten("...C"), ten("...D")
        );
        assert_eq!(cost_of(&bomb, &none).unwrap().cost, 1000);
        let refused = check(cost_of(&bomb, &none).unwrap(), u64::MAX, usize::MAX);
        assert_eq!(refused, Ok(Estimate { cost: 1000, depth: 1, fields: 1000 }));
        let wider = bomb.replace(
            "fragment D on Query { __typename }",
            "fragment D on Query { a: __typename b: __typename c: __typename }",
        );
        let refused = check(cost_of(&wider, &none).unwrap(), u64::MAX, usize::MAX).unwrap_err();
        assert_eq!(refused, Refusal::TooManyResolvedFields { fields: 3000 });
        // Saturates instead of overflowing.
        let huge = "{ events(first: 9223372036854775807) { nodes { attendance(first: 9223372036854775807) { nodes { id } } } } }";
        assert_eq!(cost_of(huge, &none).unwrap().cost, u64::MAX);
    }
}
