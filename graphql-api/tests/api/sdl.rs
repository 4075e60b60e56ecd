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
