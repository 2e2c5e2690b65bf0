//! An API district's pull schedule in EventBridge Scheduler.

use super::TenantArgs;
use api_pull::PullEvent;
use roster::{Connection, TenantConfig};

/// The name of a tenant's pull schedule: `{tenant}-pull`.
pub(super) fn schedule_name(tenant: &str) -> String {
    format!("{tenant}-pull")
}

/// Creates or updates the EventBridge Scheduler schedule `{tenant}-pull` that invokes the
/// pull function with the schedule's own input (`PullEvent::scheduled`); disabled with the
/// tenant. `None` for a tenant without an API schedule.
pub(super) async fn upsert_schedule(
    config: &TenantConfig,
    a: &TenantArgs,
) -> Result<Option<String>, String> {
    let Some(schedule) = config
        .schedule
        .as_ref()
        .filter(|_| config.uses(Connection::Api))
    else {
        return Ok(None);
    };
    let (Some(function), Some(role)) = (&a.pull_function_arn, &a.scheduler_role_arn) else {
        return Err("a pull schedule needs --pull-function-arn and --scheduler-role-arn (the stack's outputs)".into());
    };
    use aws_sdk_scheduler::types::{
        DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState, Target,
    };
    let sdk = cloud::sdk_config().await;
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    let name = schedule_name(&config.tenant);
    let mut target = Target::builder().arn(function).role_arn(role).input(
        serde_json::to_string(&PullEvent::scheduled(&config.tenant)).map_err(|e| e.to_string())?,
    );
    if let Some(dlq) = &a.scheduler_dlq_arn {
        target = target.dead_letter_config(DeadLetterConfig::builder().arn(dlq).build());
    }
    let target = target.build().map_err(|e| e.to_string())?;
    let window = FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::Off)
        .build()
        .map_err(|e| e.to_string())?;
    let state = if config.enabled {
        ScheduleState::Enabled
    } else {
        ScheduleState::Disabled
    };
    let exists = scheduler
        .get_schedule()
        .name(&name)
        .group_name(&a.schedule_group)
        .send()
        .await
        .is_ok();
    let description = format!("OneRoster API pull of tenant {}", config.tenant);
    // CreateSchedule and UpdateSchedule take the same settings (an update replaces
    // them all, the description too) on two builder types the SDK does not unify:
    // one list, applied to either.
    macro_rules! with_settings {
        ($request:expr) => {
            $request
                .name(&name)
                .group_name(&a.schedule_group)
                .schedule_expression(schedule.expression())
                .schedule_expression_timezone(&schedule.timezone)
                .flexible_time_window(window)
                .target(target)
                .state(state)
                .description(description)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().to_string())
        };
    }
    let result = if exists {
        with_settings!(scheduler.update_schedule())
    } else {
        with_settings!(scheduler.create_schedule())
    };
    result.map_err(|e| format!("EventBridge Scheduler: {e}"))?;
    Ok(Some(format!("{}/{name}", a.schedule_group)))
}

/// Whether the tenant's schedule `{tenant}-pull` exists in `group`, and its state.
pub(super) async fn schedule_state(group: &str, tenant: &str) -> super::check::ScheduleFinding {
    use super::check::ScheduleFinding;
    let sdk = cloud::sdk_config().await;
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    match scheduler
        .get_schedule()
        .name(schedule_name(tenant))
        .group_name(group)
        .send()
        .await
    {
        Ok(s) => match s.state() {
            Some(aws_sdk_scheduler::types::ScheduleState::Enabled) => ScheduleFinding::Enabled,
            _ => ScheduleFinding::Disabled,
        },
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            ScheduleFinding::Missing
        }
        Err(e) => ScheduleFinding::Error(cloud::failure::chain(&e)),
    }
}
