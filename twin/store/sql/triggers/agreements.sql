CREATE OR REPLACE TRIGGER agreements_append_only BEFORE DELETE OR UPDATE ON public.agreements FOR EACH ROW EXECUTE FUNCTION twin_append_only();
CREATE OR REPLACE TRIGGER agreements_final BEFORE INSERT ON public.agreements FOR EACH ROW EXECUTE FUNCTION twin_agreement_guard();
