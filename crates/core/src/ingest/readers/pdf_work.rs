//! How much content interpretation a PDF asks of `pdf-extract`, checked before it runs.
//!
//! `pdf-extract` interprets each page's content stream and, at every `Do`, the drawn form
//! XObject's content again, recursively and without a guard: a form that draws itself recurses
//! until the stack overflows (an abort that no `catch_unwind` stops), and a chain of forms each
//! drawing the next twice doubles the work per link, so a few kilobytes ask for years of work.
//! Pages can also share one content stream, and a page's inherited `/Resources` and
//! `/MediaBox` are looked up through `/Parent` links with no cycle check (a loop that never
//! ends). No PDF crate offers a work limit, so this walk makes the lookups `pdf-extract` will
//! make, on the loaded document, and says which pages must not be handed to it and whether the
//! whole document asks for too much.

use std::collections::{HashMap, HashSet};

use pdf_extract::{Dictionary, Document, Object, ObjectId, Stream};

/// Deepest nesting of form XObjects (a form drawing a form...) a page may use. Real documents
/// nest two or three deep; the limit keeps `pdf-extract`'s recursion far from the stack's end.
pub(crate) const MAX_FORM_DEPTH: usize = 32;
/// Longest `/Parent` chain followed from a page (the page tree's own depth limit in `lopdf`).
const MAX_PARENT_DEPTH: usize = 256;
/// Most content bytes interpreted more than once (pages sharing a stream, forms drawn many
/// times), before the budget lowers it: each byte interpreted once is already bounded by the
/// stream checks, the repeats are what a small file can multiply.
pub(crate) const MAX_REPEATED_CONTENT: u64 = 256 << 20;

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Pages that must not be interpreted, with why: a `/Parent` loop, a form that draws
    /// itself, forms nested deeper than [`MAX_FORM_DEPTH`].
    pub(crate) bad: Vec<(u32, &'static str)>,
}

/// Why a content stream cannot be interpreted.
#[derive(Clone, Copy)]
enum Stop {
    Cycle,
    Deep,
    TooMuch,
}

struct Walk<'d> {
    doc: &'d Document,
    /// Content bytes of each form already expanded, forms it draws included, by (stream,
    /// resources it was drawn with): drawn again, they count as repeated.
    forms: HashMap<(usize, usize), u64>,
    /// Forms being expanded (a form met again here draws itself).
    open: HashSet<usize>,
    /// Page contents already walked, by their streams (pages may share them).
    pages: HashSet<Vec<ObjectId>>,
    /// Form streams already walked (with whatever resources).
    seen: HashSet<usize>,
    /// Content bytes interpreted again (a page or form met before).
    repeated: u64,
    cap: u64,
}

/// Walks every page of `pages` as `pdf-extract` will interpret it; `Err` names why the whole
/// document asks for too much (more than `min(MAX_REPEATED_CONTENT, budget)` bytes of content
/// interpreted again).
pub(crate) fn plan(doc: &Document, pages: &[(u32, ObjectId)], budget: u64) -> Result<Plan, String> {
    let cap = budget.min(MAX_REPEATED_CONTENT);
    let mut walk = Walk {
        doc,
        forms: HashMap::new(),
        open: HashSet::new(),
        pages: HashSet::new(),
        seen: HashSet::new(),
        repeated: 0,
        cap,
    };
    let mut plan = Plan::default();
    for &(n, id) in pages {
        let Some(resources) = page_resources(doc, id) else {
            plan.bad.push((n, "a loop of /Parent links"));
            continue;
        };
        let content = doc.get_page_content(id).unwrap_or_default();
        if !walk.pages.insert(doc.get_page_contents(id)) {
            walk.repeat(content.len() as u64).map_err(|_| too_much(cap))?;
        }
        match walk.content(&content, resources, 0) {
            Ok(_) => {}
            Err(Stop::TooMuch) => return Err(too_much(cap)),
            Err(Stop::Cycle) => plan.bad.push((n, "a form XObject that draws itself")),
            Err(Stop::Deep) => plan.bad.push((n, "form XObjects nested too deep")),
        }
    }
    Ok(plan)
}

fn too_much(cap: u64) -> String {
    format!("PDF pages and forms repeat more than {} of content to interpret: not read", super::pdf::human_size(cap))
}

impl<'d> Walk<'d> {
    fn repeat(&mut self, bytes: u64) -> Result<(), Stop> {
        self.repeated = self.repeated.saturating_add(bytes);
        if self.repeated > self.cap {
            return Err(Stop::TooMuch);
        }
        Ok(())
    }

    /// The content bytes interpreting `content` with `resources` costs, forms included.
    fn content(&mut self, content: &[u8], resources: Option<&'d Dictionary>, depth: usize) -> Result<u64, Stop> {
        let mut bytes = content.len() as u64;
        // `pdf-extract` unwraps this decoding: content that does not decode draws no form.
        let Ok(ops) = pdf_extract::content::Content::decode(content) else { return Ok(bytes) };
        for op in &ops.operations {
            if op.operator != "Do" {
                continue;
            }
            // Each lookup below is one that `pdf-extract` unwraps: where it fails, the page's
            // interpretation ends there (a panic the reader catches), so no later form is drawn.
            let Some(form) = self.xobject(resources, op.operands.first()) else { break };
            let own = form.dict.get(b"Resources").ok().and_then(|o| deref(self.doc, o)).and_then(|o| o.as_dict().ok());
            let drawn_with = own.or(resources);
            let key = (form as *const Stream as usize, drawn_with.map_or(0, |d| d as *const Dictionary as usize));
            if let Some(&n) = self.forms.get(&key) {
                self.repeat(n)?;
                bytes = bytes.saturating_add(n);
                continue;
            }
            if self.open.contains(&key.0) {
                return Err(Stop::Cycle);
            }
            if depth + 1 > MAX_FORM_DEPTH {
                return Err(Stop::Deep);
            }
            let inner = match form.decompressed_content() {
                Ok(d) => d,
                Err(_) => form.content.clone(),
            };
            if !self.seen.insert(key.0) {
                // The same form drawn with other resources: walked again, and counted.
                self.repeat(inner.len() as u64)?;
            }
            self.open.insert(key.0);
            let n = self.content(&inner, drawn_with, depth + 1);
            self.open.remove(&key.0);
            let n = n?;
            self.forms.insert(key, n);
            bytes = bytes.saturating_add(n);
        }
        Ok(bytes)
    }

    /// The stream `Do name` draws: `/XObject` of `resources`, then its entry `name`, each
    /// dereferenced once as `pdf-extract` does.
    fn xobject(&self, resources: Option<&'d Dictionary>, name: Option<&Object>) -> Option<&'d Stream> {
        let name = name?.as_name().ok()?;
        let xobjects = deref(self.doc, resources?.get(b"XObject").ok()?)?.as_dict().ok()?;
        deref(self.doc, xobjects.get(name).ok()?)?.as_stream().ok()
    }
}

/// The `/Resources` a page is interpreted with (its own, else the nearest ancestor's through
/// `/Parent`, as `pdf-extract` looks it up): `Some(None)` when there are none, `None` when the
/// `/Parent` chain loops or runs deeper than [`MAX_PARENT_DEPTH`] (which `pdf-extract` would
/// follow forever when an entry it inherits is missing).
fn page_resources(doc: &Document, page: ObjectId) -> Option<Option<&Dictionary>> {
    let mut seen = HashSet::new();
    let mut dict = doc.get_dictionary(page).ok()?;
    let mut found = None;
    for _ in 0..MAX_PARENT_DEPTH {
        if !seen.insert(dict as *const Dictionary as usize) {
            return None;
        }
        if found.is_none() {
            found = dict.get(b"Resources").ok().and_then(|o| deref(doc, o)).and_then(|o| o.as_dict().ok());
        }
        match dict.get(b"Parent").and_then(Object::as_reference).and_then(|id| doc.get_dictionary(id)) {
            Ok(parent) => dict = parent,
            Err(_) => return Some(found),
        }
    }
    None
}

/// `o`, or the object it refers to (one reference followed, as `pdf-extract` does).
fn deref<'d>(doc: &'d Document, o: &'d Object) -> Option<&'d Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        _ => Some(o),
    }
}
