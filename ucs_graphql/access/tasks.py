"""The UCS access task names; every operation of both doors needs exactly one of them (but GraphQL's `viewer`, which
shows callers only themselves, and `node`, which needs the read task of the type its id names)."""

from __future__ import annotations

# Server
READ_SERVER_INFO = "UCS.SystemMgt.readServerInfo"
CHANGE_SERVER_MODE = "UCS.SystemMgt.changeServerMode"
# Schema metadata
HANDLE_METADATA = "UCS.SchemaMgt.handleMetadata"
READ_METADATA = "UCS.SchemaMgt.readMetadata"
READ_PROFILE_SCHEMA = "UCS.SchemaMgt.readProfileSchema"
READ_PROFILE_EXTENSION_SCHEMA = "UCS.SchemaMgt.readProfileExtensionSchema"
READ_SERVICE_EXTENSION_SCHEMA = "UCS.SchemaMgt.readServiceExtensionSchema"
READ_STATE_EXTENSION_SCHEMA = "UCS.SchemaMgt.readStateExtensionSchema"
READ_TASK_EXTENSION_SCHEMA = "UCS.SchemaMgt.readTaskExtensionSchema"
READ_IDENTIFICATION_KEYS = "UCS.SchemaMgt.readIdentificationKeys"
READ_BUSINESS_ATTRIBUTES = "UCS.SchemaMgt.readBusinessAttributes"
READ_GEN_ADMIN_ROLE = "UCS.SchemaMgt.readGenAdminRole"
# Customer profiles
CREATE_PROFILE = "UCS.Customer.createProfile"
READ_PROFILE = "UCS.Customer.readProfile"
UPDATE_PROFILE = "UCS.Customer.updateProfile"
DELETE_PROFILE = "UCS.Customer.deleteProfile"
MERGE_PROFILE = "UCS.Customer.mergeProfile"
IDENTIFY_CUSTOMER = "UCS.Customer.identifyCustomer"
CREATE_PROFILE_EXTENSION = "UCS.Customer.createProfileExtension"
UPDATE_PROFILE_EXTENSION = "UCS.Customer.updateProfileExtension"
DELETE_PROFILE_EXTENSION = "UCS.Customer.deleteProfileExtension"
EXECUTE_BULK_IMPORT = "UCS.Customer.executeBulkImport"
# Services, states, tasks
START_SERVICE = "UCS.Service.startService"
ASSOCIATE_SERVICE = "UCS.Service.associateService"
COMPLETE_SERVICE = "UCS.Service.completeService"
READ_SERVICE = "UCS.Service.readService"
START_STATE = "UCS.Service.startState"
COMPLETE_STATE = "UCS.Service.completeState"
READ_STATE = "UCS.Service.readState"
START_TASK = "UCS.Service.startTask"
COMPLETE_TASK = "UCS.Service.completeTask"
READ_TASK = "UCS.Service.readTask"
CREATE_SERVICE_EXTENSION = "UCS.Service.createServiceExtension"
READ_SERVICE_EXTENSION = "UCS.Service.readServiceExtension"
DELETE_SERVICE_EXTENSION = "UCS.Service.deleteServiceExtension"
# Interactions
CREATE_INTERACTION = "UCS.Interaction.createInteraction"
READ_INTERACTION = "UCS.Interaction.readInteraction"

ALL_TASKS: frozenset[str] = frozenset(
    value for name, value in list(globals().items()) if name.isupper() and isinstance(value, str)
    and value.startswith("UCS.")
)
