"""Wire models: the JSON shapes of the REST API (torc-client 0.35.0, API 0.21.0), one module per
resource. Field names are the contract and are spelled as the published client spells them.
"""

from pytorc.models.access import AccessCheckResponse as AccessCheckResponse
from pytorc.models.access import AccessGroupModel as AccessGroupModel
from pytorc.models.access import ListAccessGroupsResponse as ListAccessGroupsResponse
from pytorc.models.access import (
    ListUserGroupMembershipsResponse as ListUserGroupMembershipsResponse,
)
from pytorc.models.access import ReloadAuthResponse as ReloadAuthResponse
from pytorc.models.access import UserGroupMembershipModel as UserGroupMembershipModel
from pytorc.models.access import WorkflowAccessGroupModel as WorkflowAccessGroupModel
from pytorc.models.common import I64 as I64
from pytorc.models.common import DeleteCountResponse as DeleteCountResponse
from pytorc.models.common import ErrorResponse as ErrorResponse
from pytorc.models.common import MessageResponse as MessageResponse
from pytorc.models.common import Name as Name
from pytorc.models.common import NonNeg as NonNeg
from pytorc.models.common import Number as Number
from pytorc.models.common import Page as Page
from pytorc.models.common import PingResponse as PingResponse
from pytorc.models.common import Str as Str
from pytorc.models.common import T as T
from pytorc.models.common import VersionResponse as VersionResponse
from pytorc.models.common import WireModel as WireModel
from pytorc.models.data import CreateFilesResponse as CreateFilesResponse
from pytorc.models.data import CreateUserDataListResponse as CreateUserDataListResponse
from pytorc.models.data import DeleteRoCrateEntitiesResponse as DeleteRoCrateEntitiesResponse
from pytorc.models.data import EventModel as EventModel
from pytorc.models.data import FileModel as FileModel
from pytorc.models.data import FilesModel as FilesModel
from pytorc.models.data import ResourceRequirementsModel as ResourceRequirementsModel
from pytorc.models.data import RoCrateEntityModel as RoCrateEntityModel
from pytorc.models.data import UserDataListModel as UserDataListModel
from pytorc.models.data import UserDataModel as UserDataModel
from pytorc.models.jobs import BatchCompleteJobsRequest as BatchCompleteJobsRequest
from pytorc.models.jobs import BatchCompleteJobsResponse as BatchCompleteJobsResponse
from pytorc.models.jobs import ClaimJobsBasedOnResources as ClaimJobsBasedOnResources
from pytorc.models.jobs import ClaimNextJobsResponse as ClaimNextJobsResponse
from pytorc.models.jobs import ClaimRequest as ClaimRequest
from pytorc.models.jobs import ComputeNodeSchedule as ComputeNodeSchedule
from pytorc.models.jobs import ComputeNodesResources as ComputeNodesResources
from pytorc.models.jobs import CreatedJobIds as CreatedJobIds
from pytorc.models.jobs import CreateJobsResponse as CreateJobsResponse
from pytorc.models.jobs import ExchangeJobsRequest as ExchangeJobsRequest
from pytorc.models.jobs import ExchangeJobsResponse as ExchangeJobsResponse
from pytorc.models.jobs import JobCompletionEntry as JobCompletionEntry
from pytorc.models.jobs import JobCompletionError as JobCompletionError
from pytorc.models.jobs import JobDependencyModel as JobDependencyModel
from pytorc.models.jobs import JobFileRelationshipModel as JobFileRelationshipModel
from pytorc.models.jobs import JobModel as JobModel
from pytorc.models.jobs import JobsModel as JobsModel
from pytorc.models.jobs import JobStart as JobStart
from pytorc.models.jobs import JobSweepModel as JobSweepModel
from pytorc.models.jobs import JobSweepResponse as JobSweepResponse
from pytorc.models.jobs import JobUserDataRelationshipModel as JobUserDataRelationshipModel
from pytorc.models.jobs import ReleaseJobsRequest as ReleaseJobsRequest
from pytorc.models.jobs import ReleaseJobsResponse as ReleaseJobsResponse
from pytorc.models.jobs import ResultModel as ResultModel
from pytorc.models.jobs import RunningJobModel as RunningJobModel
from pytorc.models.jobs import SlurmJobCorrelationModel as SlurmJobCorrelationModel
from pytorc.models.nodes import ClaimActionRequest as ClaimActionRequest
from pytorc.models.nodes import ClaimActionResponse as ClaimActionResponse
from pytorc.models.nodes import ComputeNodeModel as ComputeNodeModel
from pytorc.models.nodes import DeclareDeadRequest as DeclareDeadRequest
from pytorc.models.nodes import DeclareDeadResponse as DeclareDeadResponse
from pytorc.models.nodes import FailureHandlerModel as FailureHandlerModel
from pytorc.models.nodes import LocalSchedulerModel as LocalSchedulerModel
from pytorc.models.nodes import RemoteWorkerModel as RemoteWorkerModel
from pytorc.models.nodes import ScheduledComputeNodesModel as ScheduledComputeNodesModel
from pytorc.models.nodes import SlurmSchedulerModel as SlurmSchedulerModel
from pytorc.models.nodes import SlurmStatsModel as SlurmStatsModel
from pytorc.models.nodes import WorkflowActionModel as WorkflowActionModel
from pytorc.models.workflows import ActiveTaskResponse as ActiveTaskResponse
from pytorc.models.workflows import ArchiveWorkflowRequest as ArchiveWorkflowRequest
from pytorc.models.workflows import ComputeNodeMonitorConfig as ComputeNodeMonitorConfig
from pytorc.models.workflows import DynamicJobsConfig as DynamicJobsConfig
from pytorc.models.workflows import ExecutionConfig as ExecutionConfig
from pytorc.models.workflows import ExecutionMode as ExecutionMode
from pytorc.models.workflows import (
    GetReadyJobRequirementsResponse as GetReadyJobRequirementsResponse,
)
from pytorc.models.workflows import IncompleteWorkflowsResponse as IncompleteWorkflowsResponse
from pytorc.models.workflows import IsCompleteResponse as IsCompleteResponse
from pytorc.models.workflows import IsUninitializedResponse as IsUninitializedResponse
from pytorc.models.workflows import JobMonitorConfig as JobMonitorConfig
from pytorc.models.workflows import JobStatusCounts as JobStatusCounts
from pytorc.models.workflows import ListJobIdsResponse as ListJobIdsResponse
from pytorc.models.workflows import ListMissingUserDataResponse as ListMissingUserDataResponse
from pytorc.models.workflows import (
    ListRequiredExistingFilesResponse as ListRequiredExistingFilesResponse,
)
from pytorc.models.workflows import MonitorGranularity as MonitorGranularity
from pytorc.models.workflows import (
    ProcessChangedJobInputsResponse as ProcessChangedJobInputsResponse,
)
from pytorc.models.workflows import ResetJobStatusResponse as ResetJobStatusResponse
from pytorc.models.workflows import ResourceMonitorConfig as ResourceMonitorConfig
from pytorc.models.workflows import StdioConfig as StdioConfig
from pytorc.models.workflows import StdioMode as StdioMode
from pytorc.models.workflows import TaskModel as TaskModel
from pytorc.models.workflows import TaskStatus as TaskStatus
from pytorc.models.workflows import WorkflowModel as WorkflowModel
from pytorc.models.workflows import WorkflowStatusResponse as WorkflowStatusResponse
