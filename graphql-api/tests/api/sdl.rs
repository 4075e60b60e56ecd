//! The checked-in SDL files are what the code serves.

use graphql_api::schema::{public_sdl, sale_sdl};

fn check(file: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs from the schema the code serves; if the change is intended, run\n  \
         cargo run -p graphql-api -- sdl --write graphql-api\nand commit the result",
        path.display()
    );
}

#[test]
fn the_public_schema_matches_schema_public_graphql() {
    check("schema.public.graphql", &public_sdl());
}

#[test]
fn the_sale_schema_matches_schema_sale_graphql() {
    check("schema.sale.graphql", &sale_sdl());
}

/// Field names of every object and input type of an SDL text, by type name.
fn fields_by_type(sdl: &str) -> std::collections::HashMap<String, Vec<String>> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let document = async_graphql::parser::parse_schema(sdl).expect("SDL parses");
    let mut types = std::collections::HashMap::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else {
            continue;
        };
        let definition = definition.node;
        let mut names: Vec<String> = match definition.kind {
            TypeKind::Object(object) => object
                .fields
                .iter()
                .map(|field| field.node.name.node.to_string())
                .collect(),
            TypeKind::InputObject(input) => input
                .fields
                .iter()
                .map(|field| field.node.name.node.to_string())
                .collect(),
            TypeKind::Enum(values) => values
                .values
                .iter()
                .map(|value| value.node.value.node.to_string())
                .collect(),
            _ => continue,
        };
        names.sort();
        types.insert(definition.name.node.to_string(), names);
    }
    types
}

#[test]
fn the_sale_contract_in_the_docs_names_what_the_schema_serves() {
    let docs = include_str!("../../../docs/sale-api.md");
    let block = docs
        .split("```graphql")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/sale-api.md has a graphql block");
    let documented = fields_by_type(block);
    let served = fields_by_type(&sale_sdl());
    assert!(documented.len() >= 10, "the block lists the sale types");

    for (name, fields) in &documented {
        // The block's roots list what the sale adds; the served roots have more.
        let (served_name, whole) = match name.as_str() {
            "Query" => ("SaleQuery", false),
            "Mutation" => ("SaleMutation", true),
            "Subscription" => ("SaleSubscription", true),
            other => (other, true),
        };
        let actual = served
            .get(served_name)
            .unwrap_or_else(|| panic!("docs name type {name}, which the sale schema lacks"));
        if whole {
            assert_eq!(fields, actual, "fields of {name} in docs/sale-api.md");
        } else {
            for field in fields {
                assert!(actual.contains(field), "{name}.{field} is not served");
            }
        }
    }
}
