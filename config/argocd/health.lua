-- Argo CD health check for ecs.keypairs.dev/KeyPairDetachment and KeyPairAttachment (both kinds
-- report the same Ready and Stalled conditions). Install it in argocd-cm as
-- resource.customizations.health.ecs.keypairs.dev_KeyPairDetachment and, the same script, as
-- resource.customizations.health.ecs.keypairs.dev_KeyPairAttachment (see README.md beside this
-- file). Tested by controllers/gitops_health_test.go.
--
--   status missing, or observedGeneration < generation  -> Progressing (the spec is not seen yet)
--   Ready=True                                          -> Healthy
--   Stalled=True                                        -> Degraded (Ready's message says why)
--   Ready=False, reason Suspended                       -> Suspended (spec.suspend)
--   Ready=False, reason Planned                         -> Suspended (spec.mode: Plan waits for a human)
--   Ready=False, reason WaitingForWindow                -> Suspended (reboots wait for spec.reboot.window)
--   anything else                                       -> Progressing
local hs = {status = "Progressing", message = "Waiting for the operator to report a status"}

local function condition(conditions, t)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == t then
      return c
    end
  end
  return nil
end

local function describe(c, fallback)
  if c == nil then
    return fallback
  end
  local msg = c.message or ""
  if c.reason ~= nil and c.reason ~= "" then
    if msg ~= "" then
      return c.reason .. ": " .. msg
    end
    return c.reason
  end
  if msg ~= "" then
    return msg
  end
  return fallback
end

if obj.status == nil then
  return hs
end

local generation = 0
if obj.metadata ~= nil and obj.metadata.generation ~= nil then
  generation = obj.metadata.generation
end
local observed = obj.status.observedGeneration or 0
if observed < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local ready = condition(obj.status.conditions, "Ready")
local stalled = condition(obj.status.conditions, "Stalled")

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  -- Ready carries the human-facing explanation; Stalled mirrors it.
  if ready ~= nil and ready.status == "False" then
    hs.message = describe(ready, "Stalled")
  else
    hs.message = describe(stalled, "Stalled")
  end
  return hs
end

local waiting = {Suspended = true, Planned = true, WaitingForWindow = true}
if ready ~= nil and ready.status == "False" and waiting[ready.reason] then
  hs.status = "Suspended"
  hs.message = describe(ready, "Suspended")
  return hs
end

hs.message = describe(ready, hs.message)
return hs
