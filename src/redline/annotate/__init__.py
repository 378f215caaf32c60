"""Annotation projects: policy-derived label schemas, assignment with overlap and gold, review."""

from redline.annotate.agreement import (
    agreement_report,
    bootstrap_ci,
    cohen_kappa_pairwise,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
)
from redline.annotate.consensus import (
    ConsensusResult,
    ItemConsensus,
    dawid_skene,
    majority_vote,
    model_assisted,
)
from redline.annotate.exports import (
    EXPORTS,
    Decided,
    ExportResult,
    casebook_pack,
    decide,
    export_project,
    labelled_rows,
)
from redline.annotate.project_quality import (
    QueueEntry,
    judge_probabilities,
    project_consensus,
    project_quality,
    project_ratings,
    review_queue,
)
from redline.annotate.quality import (
    AnnotatorStats,
    DriftWindow,
    Observation,
    annotator_table,
    control_chart,
    flag_annotators,
)
from redline.annotate.report import consensus_comparison, write_report
from redline.annotate.rows import (
    ROLES,
    Adjudication,
    Assignment,
    Item,
    Label,
    Progress,
    Project,
    ProjectSettings,
    Session,
    User,
)
from redline.annotate.schema import TASKS, FieldSpec, Option, TaskType, task_fields, validate_values
from redline.annotate.service import Annotations
from redline.annotate.simulate import SimulatedCrowd, simulate_crowd
from redline.annotate.vendor import (
    BATCH_FORMATS,
    BatchExport,
    BatchImport,
    export_batch,
    import_batch,
)

__all__ = [
    "ROLES", "TASKS", "Adjudication", "Annotations", "Assignment", "FieldSpec", "Item", "Label", "Option",
    "Progress", "Project", "ProjectSettings", "Session", "TaskType", "User", "task_fields", "validate_values",
]
__all__ += [  # quality (H_QUAL)
    "AnnotatorStats", "ConsensusResult", "DriftWindow", "ItemConsensus", "Observation", "QueueEntry",
    "SimulatedCrowd", "agreement_report", "annotator_table", "bootstrap_ci", "cohen_kappa_pairwise",
    "control_chart", "dawid_skene", "flag_annotators", "fleiss_kappa", "gwet_ac1", "judge_probabilities",
    "krippendorff_alpha", "majority_vote", "model_assisted", "percent_agreement", "project_consensus",
    "project_quality", "project_ratings", "review_queue", "simulate_crowd",
]
__all__ += [  # outputs, report, vendor round-trip (H_OUT)
    "BATCH_FORMATS", "EXPORTS", "BatchExport", "BatchImport", "Decided", "ExportResult", "casebook_pack",
    "consensus_comparison", "decide", "export_batch", "export_project", "import_batch", "labelled_rows",
    "write_report",
]
