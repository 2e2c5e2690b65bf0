//! The whole system on the local stack: a day in the life of a district, and the
//! table's shape (template.yaml against `ensure_table`).

mod dashboard;
mod day_in_the_life;
mod sso_bounds;
mod table_shape;
