//! The schemas, read from their SDL.

use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub(super) enum Ty {
    Named(String),
    List(Box<Ty>),
    NonNull(Box<Ty>),
}

impl Ty {
    pub(super) fn parse(text: &str) -> Self {
        let text = text.trim();
        if let Some(inner) = text.strip_suffix('!') {
            return Self::NonNull(Box::new(Self::parse(inner)));
        }
        if let Some(inner) = text
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            return Self::List(Box::new(Self::parse(inner)));
        }
        Self::Named(text.to_owned())
    }

    pub(super) fn base(&self) -> &str {
        match self {
            Self::Named(name) => name,
            Self::List(inner) | Self::NonNull(inner) => inner.base(),
        }
    }
}

/// An argument or an input object's field.
#[derive(Clone, Debug)]
pub(super) struct InputValue {
    pub(super) name: String,
    pub(super) ty: Ty,
}

#[derive(Clone, Debug)]
pub(super) struct FieldDef {
    pub(super) name: String,
    pub(super) args: Vec<InputValue>,
    pub(super) ty: Ty,
}

/// What documents are built from: one schema's types.
#[derive(Debug, Default)]
pub(super) struct Model {
    pub(super) objects: BTreeMap<String, Vec<FieldDef>>,
    pub(super) inputs: BTreeMap<String, Vec<InputValue>>,
    pub(super) enums: BTreeMap<String, Vec<String>>,
    /// The query, mutation and subscription root types, in that order.
    pub(super) roots: Vec<String>,
    /// Every type, field, argument and enum value name.
    pub(super) names: Vec<String>,
}

enum Block {
    Object(String),
    Input(String),
    Enum(String),
    Schema,
}

impl Model {
    /// Reads the SDL async-graphql exports (one definition per line, descriptions in
    /// `"""` blocks).
    pub(super) fn from_sdl(sdl: &str) -> Self {
        let mut model = Self::default();
        let mut roots = BTreeMap::new();
        let mut block = None;
        let mut in_description = false;
        for line in sdl.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("\"\"\"") {
                // `"""text"""` on one line opens and closes; otherwise it toggles.
                if !(rest.len() >= 3 && rest.ends_with("\"\"\"")) {
                    in_description = !in_description;
                }
                continue;
            }
            if in_description || line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line == "}" {
                block = None;
                continue;
            }
            match &block {
                Some(Block::Object(name)) => {
                    if let Some(field) = parse_field(line) {
                        model.objects.entry(name.clone()).or_default().push(field);
                    }
                }
                Some(Block::Input(name)) => {
                    if let Some(field) = parse_input_value(line) {
                        model.inputs.entry(name.clone()).or_default().push(field);
                    }
                }
                Some(Block::Enum(name)) => {
                    if let Some(value) = line.split_whitespace().next() {
                        model
                            .enums
                            .entry(name.clone())
                            .or_default()
                            .push(value.to_owned());
                    }
                }
                Some(Block::Schema) => {
                    if let Some((operation, ty)) = line.split_once(':') {
                        roots.insert(operation.trim().to_owned(), ty.trim().to_owned());
                    }
                }
                None => {
                    let mut words = line.split_whitespace();
                    let (keyword, name) = (words.next(), words.next().map(str::to_owned));
                    if !line.ends_with('{') {
                        continue;
                    }
                    block = match (keyword, name) {
                        (Some("type"), Some(name)) => Some(Block::Object(name)),
                        (Some("input"), Some(name)) => Some(Block::Input(name)),
                        (Some("enum"), Some(name)) => Some(Block::Enum(name)),
                        (Some("schema"), _) => Some(Block::Schema),
                        _ => None,
                    };
                }
            }
        }
        model.roots = ["query", "mutation", "subscription"]
            .iter()
            .map(|operation| roots.get(*operation).cloned().unwrap_or_default())
            .collect();
        let mut names = std::collections::BTreeSet::new();
        for (ty, fields) in &model.objects {
            names.insert(ty.clone());
            for field in fields {
                names.insert(field.name.clone());
                names.extend(field.args.iter().map(|arg| arg.name.clone()));
            }
        }
        for (ty, fields) in &model.inputs {
            names.insert(ty.clone());
            names.extend(fields.iter().map(|field| field.name.clone()));
        }
        for (ty, values) in &model.enums {
            names.insert(ty.clone());
            names.extend(values.iter().cloned());
        }
        model.names = names.into_iter().collect();
        model
    }

    pub(super) fn fields(&self, ty: &str) -> Vec<FieldDef> {
        self.objects.get(ty).cloned().unwrap_or_default()
    }

    pub(super) fn object_types(&self) -> Vec<String> {
        self.objects.keys().cloned().collect()
    }
}

/// `name(arg: Type, ...): Type`.
fn parse_field(line: &str) -> Option<FieldDef> {
    let colon = line.find(':')?;
    let (name, args, rest) = match line.find('(') {
        Some(open) if open < colon => {
            let close = line.rfind(')')?;
            let args = split_top_level(&line[open + 1..close])
                .into_iter()
                .filter_map(parse_input_value)
                .collect();
            (&line[..open], args, &line[close + 1..])
        }
        _ => (&line[..colon], Vec::new(), &line[colon..]),
    };
    let ty = rest
        .trim_start()
        .strip_prefix(':')?
        .split_whitespace()
        .next()?;
    Some(FieldDef {
        name: name.trim().to_owned(),
        args,
        ty: Ty::parse(ty),
    })
}

/// `name: Type = default @directive`.
fn parse_input_value(text: &str) -> Option<InputValue> {
    let (name, rest) = text.split_once(':')?;
    let ty = rest.split(['=', '@']).next()?.trim();
    Some(InputValue {
        name: name.trim().to_owned(),
        ty: Ty::parse(ty),
    })
}

/// Splits on commas outside brackets and strings.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start, mut in_string) = (Vec::new(), 0i32, 0, false);
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_string = !in_string,
            '[' | '{' | '(' if !in_string => depth += 1,
            ']' | '}' | ')' if !in_string => depth -= 1,
            ',' if depth == 0 && !in_string => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .filter(|part| !part.trim().is_empty())
        .collect()
}
