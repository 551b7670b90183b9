//! Carriers: the routes a brand's outbound calls leave by. Brand operators (and platform
//! administrators, naming the brand) manage them. Carriers are the brand's business, not
//! its clients': a client administrator sees none (403 on the list, 404 on each).

use serde::Deserialize;

use crate::auth::Caller;
use crate::db::{self, carriers, carriers::Carrier, DbConnection};
use crate::error::{AppError, AppResult, Validator};
use crate::fields::{check_code, check_description, check_name};
use crate::ids::{BrandId, CarrierId, Id};
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::tenancy::{brand_business, brand_kept, brand_to_write};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CarrierInput {
    /// Required of platform administrators; everybody else writes to their own brand.
    pub brand: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// The trunk, gateway or vendor name records carry; unique in the brand (409).
    pub code: Option<String>,
}

impl CarrierInput {
    /// Validates and builds the row of a carrier of `brand`.
    fn into_row(
        self,
        brand: BrandId,
        id: String,
        created_at: chrono::NaiveDateTime,
    ) -> AppResult<Carrier> {
        let mut v = Validator::new();
        check_name(&mut v, "name", &self.name, 100);
        let description = self.description.unwrap_or_default();
        check_description(&mut v, &description);
        let code = check_code(&mut v, self.code);
        v.finish()?;
        Ok(Carrier {
            id,
            brand_id: brand.into(),
            name: self.name.trim().to_string(),
            description,
            created_at,
            updated_at: db::now(),
            code,
        })
    }
}

pub struct Carriers;

impl Resource for Carriers {
    type Id = CarrierId;
    type Object = Carrier;
    type Input = CarrierInput;

    const FILTERS: &'static [&'static str] = &["brand", "name"];
    const ORDER: &'static [&'static str] = &["name", "createdAt"];

    fn id_of(carrier: &Carrier) -> &str {
        &carrier.id
    }

    fn find(conn: &mut DbConnection, caller: &Caller, id: &CarrierId) -> AppResult<Carrier> {
        let found = carriers::find(conn, id)?;
        brand_business::visible(caller, found, |o| &o.brand_id)
    }

    fn may_list(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn list(
        conn: &mut DbConnection,
        caller: &Caller,
        params: &ListParams,
    ) -> AppResult<(i64, Vec<Carrier>)> {
        let filter = brand_business::filter(caller, params)?;
        carriers::list(conn, &filter, params)
    }

    fn may_create(caller: &Caller) -> AppResult<()> {
        brand_business::may_manage(caller)
    }

    fn create(conn: &mut DbConnection, caller: &Caller, input: CarrierInput) -> AppResult<Carrier> {
        Self::may_create(caller)?;
        let brand = brand_to_write(conn, caller, input.brand.as_deref())?;
        let row = input.into_row(brand, db::new_id(), db::now())?;
        carriers::insert(conn, &row)?;
        Ok(row)
    }

    fn save(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Carrier,
        input: CarrierInput,
    ) -> AppResult<Carrier> {
        let brand = brand_kept(input.brand.as_deref(), &current.brand_id, "a carrier")?;
        let row = input.into_row(brand, current.id, current.created_at)?;
        carriers::update(conn, &row)?;
        Ok(row)
    }

    fn remove(
        conn: &mut DbConnection,
        _caller: &Caller,
        current: Carrier,
        _force: bool,
    ) -> AppResult<()> {
        db::cdr_sources::refuse_if_default(conn, &current.brand_id, &current.id, "carrier")?;
        if carriers::delete(conn, &CarrierId::from_db(current.id))? == 0 {
            return Err(AppError::not_found()); // deleted by a concurrent request
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::ops::testing::{brand, caller, database, operator_of, platform};

    fn input(brand: Option<&BrandId>, name: &str) -> CarrierInput {
        CarrierInput {
            brand: brand.map(|b| b.to_string()),
            name: name.into(),
            description: None,
            code: None,
        }
    }

    #[test]
    fn carriers_stay_inside_their_brand() {
        let (_dir, mut conn) = database();
        let (a, b) = (brand(&mut conn, "A"), brand(&mut conn, "B"));
        let (op_a, op_b) = (operator_of(&a), operator_of(&b));
        let conn = &mut conn;
        let carrier = Carriers::create(conn, &op_a, input(None, " Transit ")).unwrap();
        assert_eq!(
            (carrier.brand_id.as_str(), carrier.name.as_str()),
            (a.as_str(), "Transit")
        );
        let id = CarrierId::from_db(carrier.id.clone());

        // Another brand's operator neither sees nor changes nor deletes it, nor lists it.
        assert_eq!(
            Carriers::find(conn, &op_b, &id).unwrap_err().code,
            "not_found"
        );
        let renamed = Carriers::replace(conn, &op_b, &id, input(None, "Mine"));
        assert_eq!(renamed.unwrap_err().code, "not_found");
        assert_eq!(
            Carriers::delete(conn, &op_b, &id, false).unwrap_err().code,
            "not_found"
        );
        let mut params = ListParams::default();
        assert_eq!(Carriers::list(conn, &op_b, &params).unwrap().0, 0);
        params.filters.insert("brand".into(), a.to_string());
        assert_eq!(Carriers::list(conn, &op_b, &params).unwrap().0, 0);
        assert_eq!(Carriers::list(conn, &platform(), &params).unwrap().0, 1);

        // Nor writes into it by naming it; a client administrator has no carriers at all.
        let err = Carriers::create(conn, &op_b, input(Some(&a), "Sneaky")).unwrap_err();
        assert_eq!(
            (err.status.as_u16(), err.fields.contains_key("brand")),
            (422, true)
        );
        let client_admin = caller(Role::Client, Some(&a), Some("c"));
        assert_eq!(
            Carriers::find(conn, &client_admin, &id).unwrap_err().code,
            "not_found"
        );
        assert_eq!(
            Carriers::list(conn, &client_admin, &params)
                .unwrap_err()
                .code,
            "forbidden"
        );

        // A carrier does not move between brands; its own operator may rename and delete it.
        let moved = Carriers::replace(conn, &platform(), &id, input(Some(&b), "Transit"));
        assert!(moved.unwrap_err().fields.contains_key("brand"));
        let renamed = Carriers::update(conn, &op_a, &id, |c| {
            Ok(input(None, &format!("{} 2", c.name)))
        });
        assert_eq!(renamed.unwrap().name, "Transit 2");
        Carriers::delete(conn, &op_a, &id, false).unwrap();
        assert_eq!(
            Carriers::find(conn, &op_a, &id).unwrap_err().code,
            "not_found"
        );
    }
}
