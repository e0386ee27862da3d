CREATE OR REPLACE TRIGGER volunteer_activities_cell BEFORE INSERT OR UPDATE OF geom ON public.volunteer_activities FOR EACH ROW EXECUTE FUNCTION twin_assign_cell();
CREATE OR REPLACE TRIGGER volunteer_activities_version AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.volunteer_activities FOR EACH STATEMENT EXECUTE FUNCTION twin_bump_version('volunteer_activities');
