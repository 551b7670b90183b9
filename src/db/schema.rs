//! The tables, written by hand with the column types SQLite and PostgreSQL share, so one
//! schema serves the `MultiConnection`. Ids are UUID text; times are UTC `Timestamp`s.

diesel::table! {
    brands (id) {
        id -> Text,
        name -> Text,
        timezone -> Text,
        language -> Text,
        currency -> Text,
        email -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        country -> Nullable<Text>,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        brand_id -> Text,
        name -> Text,
        client_type -> Text,
        timezone -> Text,
        language -> Text,
        show_billing_details -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        code -> Nullable<Text>,
        country -> Nullable<Text>,
    }
}

diesel::table! {
    carriers (id) {
        id -> Text,
        brand_id -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        code -> Nullable<Text>,
    }
}

diesel::table! {
    ddi_providers (id) {
        id -> Text,
        brand_id -> Text,
        name -> Text,
        description -> Text,
        addresses -> Text,
        transformation_rules -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ddis (id) {
        id -> Text,
        brand_id -> Text,
        client_id -> Text,
        ddi_e164 -> Text,
        ddi_provider_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    endpoints (id) {
        id -> Text,
        brand_id -> Text,
        client_id -> Text,
        endpoint_type -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        code -> Nullable<Text>,
    }
}

diesel::table! {
    notification_templates (id) {
        id -> Text,
        brand_id -> Nullable<Text>,
        name -> Text,
        template_type -> Text,
        contents -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    administrators (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        brand_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        active -> Bool,
        timezone -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        token_version -> BigInt,
    }
}

diesel::table! {
    call_csv_schedulers (id) {
        id -> Text,
        brand_id -> Text,
        client_id -> Nullable<Text>,
        level -> Text,
        name -> Text,
        client_type -> Nullable<Text>,
        unit -> Text,
        frequency -> Integer,
        cron -> Nullable<Text>,
        call_direction -> Nullable<Text>,
        carrier_id -> Nullable<Text>,
        ddi_provider_id -> Nullable<Text>,
        ddi_id -> Nullable<Text>,
        endpoint_type -> Nullable<Text>,
        endpoint_id -> Nullable<Text>,
        email -> Text,
        notification_template_id -> Nullable<Text>,
        next_execution -> Nullable<Timestamp>,
        last_execution -> Nullable<Timestamp>,
        last_execution_error -> Nullable<Text>,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        kind -> Text,
        group_by -> Nullable<Text>,
        destination_countries -> Nullable<Text>,
        international -> Nullable<Bool>,
        digest -> Bool,
    }
}

diesel::table! {
    call_csv_reports (id) {
        id -> Text,
        scheduler_id -> Text,
        brand_id -> Text,
        client_id -> Nullable<Text>,
        level -> Text,
        scheduler_name -> Text,
        due_at -> Timestamp,
        in_date -> Timestamp,
        out_date -> Timestamp,
        status -> Text,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        build_attempts -> Integer,
        build_error -> Nullable<Text>,
        file_name -> Nullable<Text>,
        file_path -> Nullable<Text>,
        file_size -> Nullable<BigInt>,
        sha256 -> Nullable<Text>,
        row_count -> Nullable<BigInt>,
        sent_to -> Text,
        email_status -> Text,
        email_attempts -> Integer,
        email_error -> Nullable<Text>,
        email_next_attempt -> Nullable<Timestamp>,
        email_lease_until -> Nullable<Timestamp>,
        email_possible_duplicate -> Bool,
        email_handed_over -> Bool,
        timezone -> Nullable<Text>,
        message_id -> Text,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    call_csv_report_digests (report_id) {
        report_id -> Text,
        digest_text -> Text,
        digest_html -> Text,
    }
}

diesel::joinable!(clients -> brands (brand_id));
diesel::joinable!(carriers -> brands (brand_id));
diesel::joinable!(ddi_providers -> brands (brand_id));
diesel::joinable!(ddis -> clients (client_id));
diesel::joinable!(endpoints -> clients (client_id));

diesel::table! {
    rating_plans (id) {
        id -> Text,
        brand_id -> Text,
        name -> Text,
        currency -> Text,
        rounding_method -> Text,
        rounding_decimals -> Integer,
        timezone -> Text,
        rates_version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rates (id) {
        id -> Text,
        rating_plan_id -> Text,
        prefix -> Text,
        destination_name -> Text,
        connect_fee -> Text,
        rate -> Text,
        rate_unit -> Integer,
        rate_increment -> Integer,
        group_interval_start -> Integer,
        weekdays -> Text,
        time_in -> Text,
    }
}

diesel::table! {
    rating_profiles (id) {
        id -> Text,
        brand_id -> Text,
        client_id -> Nullable<Text>,
        carrier_id -> Nullable<Text>,
        rating_plan_id -> Text,
        activation_time -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    billable_calls (id) {
        id -> Text,
        brand_id -> Text,
        callid -> Text,
        start_time -> Timestamp,
        duration -> Text,
        billed_seconds -> BigInt,
        caller -> Text,
        callee -> Text,
        direction -> Text,
        client_id -> Text,
        carrier_id -> Nullable<Text>,
        ddi_id -> Nullable<Text>,
        ddi_provider_id -> Nullable<Text>,
        source_ip -> Nullable<Text>,
        endpoint_type -> Nullable<Text>,
        endpoint_id -> Nullable<Text>,
        cost -> Nullable<Text>,
        price -> Nullable<Text>,
        rating_error -> Nullable<Text>,
        destination_name -> Nullable<Text>,
        rating_plan_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        source_id -> Nullable<Text>,
        disposition -> Text,
        hangup_cause -> Nullable<Integer>,
        destination_country -> Nullable<Text>,
        cost_micros -> Nullable<BigInt>,
        price_micros -> Nullable<BigInt>,
    }
}

diesel::table! {
    call_backfills (name) {
        name -> Text,
        last_id -> Text,
        done -> Bool,
    }
}

diesel::table! {
    cdr_sources (id) {
        id -> Text,
        brand_id -> Text,
        name -> Text,
        format -> Text,
        timezone -> Nullable<Text>,
        // `columns` is a name the table! macro takes for itself.
        #[sql_name = "columns"]
        column_names -> Nullable<Text>,
        answered_only -> Bool,
        numbering -> Nullable<Text>,
        direction_rules -> Text,
        mapping -> Text,
        call_types -> Nullable<Text>,
        spool_path -> Nullable<Text>,
        spool_pattern -> Nullable<Text>,
        pull_url -> Nullable<Text>,
        pull_token -> Nullable<Text>,
        pull_interval_minutes -> Nullable<Integer>,
        callid_prefix -> Text,
        enabled -> Bool,
        push_secret_hash -> Text,
        last_error -> Nullable<Text>,
        last_pulled_at -> Nullable<Timestamp>,
        pull_checkpoint -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cdr_imports (id) {
        id -> Text,
        brand_id -> Text,
        source_id -> Text,
        origin -> Text,
        file_name -> Nullable<Text>,
        bytes -> BigInt,
        sha256 -> Nullable<Text>,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        records -> BigInt,
        accepted -> BigInt,
        duplicates -> BigInt,
        rejected -> BigInt,
        unrated -> BigInt,
        skipped_unanswered -> BigInt,
        skipped_internal -> BigInt,
        skipped_leg -> BigInt,
        skipped_filtered -> BigInt,
        errors -> Text,
        error_count -> BigInt,
        failure -> Nullable<Text>,
        push_hour -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cdr_spool_files (source_id, file_key) {
        source_id -> Text,
        file_key -> Text,
        path -> Text,
        byte_offset -> BigInt,
        updated_at -> Timestamp,
        head_len -> BigInt,
        head_sha256 -> Text,
    }
}

diesel::table! {
    ui_sessions (id) {
        id -> Text,
        administrator_id -> Text,
        token_version -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    alert_rules (id) {
        id -> Text,
        brand_id -> Text,
        client_id -> Nullable<Text>,
        level -> Text,
        name -> Text,
        enabled -> Bool,
        kind -> Text,
        client_type -> Nullable<Text>,
        carrier_id -> Nullable<Text>,
        endpoint_type -> Nullable<Text>,
        endpoint_id -> Nullable<Text>,
        direction -> Nullable<Text>,
        destination_countries -> Nullable<Text>,
        email -> Text,
        webhook_url -> Nullable<Text>,
        webhook_secret -> Nullable<Text>,
        notification_template_id -> Nullable<Text>,
        measure -> Nullable<Text>,
        time_window -> Nullable<Text>,
        per -> Nullable<Text>,
        threshold -> Nullable<Text>,
        mode -> Nullable<Text>,
        countries -> Nullable<Text>,
        prefixes -> Nullable<Text>,
        condition -> Nullable<Text>,
        compare_to -> Nullable<Text>,
        min_calls -> Nullable<Integer>,
        max_calls -> Nullable<Integer>,
        minutes -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    alert_events (id) {
        id -> Text,
        rule_id -> Text,
        brand_id -> Text,
        client_id -> Nullable<Text>,
        level -> Text,
        rule_name -> Text,
        kind -> Text,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<Text>,
        subject_name -> Nullable<Text>,
        subject_key -> Text,
        window_from -> Timestamp,
        window_to -> Timestamp,
        measured -> Text,
        threshold -> Text,
        previous -> Nullable<Text>,
        fired_at -> Timestamp,
        calls -> Text,
        sent_to -> Text,
        email_status -> Text,
        email_attempts -> Integer,
        email_error -> Nullable<Text>,
        email_next_attempt -> Nullable<Timestamp>,
        email_lease_until -> Nullable<Timestamp>,
        webhook_status -> Text,
        webhook_attempts -> Integer,
        webhook_error -> Nullable<Text>,
        webhook_next_attempt -> Nullable<Timestamp>,
        webhook_lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(rates -> rating_plans (rating_plan_id));
diesel::joinable!(rating_profiles -> rating_plans (rating_plan_id));
diesel::joinable!(billable_calls -> clients (client_id));
diesel::joinable!(cdr_imports -> cdr_sources (source_id));
diesel::joinable!(cdr_spool_files -> cdr_sources (source_id));

diesel::allow_tables_to_appear_in_same_query!(
    brands,
    clients,
    carriers,
    ddi_providers,
    ddis,
    endpoints,
    notification_templates,
    administrators,
    rating_plans,
    rates,
    rating_profiles,
    billable_calls,
    call_csv_schedulers,
    call_csv_reports,
    call_csv_report_digests,
    cdr_sources,
    cdr_imports,
    cdr_spool_files,
    ui_sessions,
    alert_rules,
    alert_events,
);
