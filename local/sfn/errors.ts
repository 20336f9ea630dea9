/**
 * AWS JSON 1.0 errors. The SDK takes the error name from `__type` (the part after
 * '#'), so `name` here is exactly what callers see as `err.name`.
 */

/** Namespace AWS puts in front of Step Functions' modelled error names. */
const MODEL_NAMESPACE = 'com.amazonaws.swf.service.v2.model';

export class SfnError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
    /** Common (non-modelled) errors such as ThrottlingException carry no namespace. */
    readonly modelled = true,
  ) {
    super(message);
    this.name = code;
  }

  /** Response body in the AWS JSON 1.0 error shape. */
  toBody(): { __type: string; message: string } {
    return { __type: this.modelled ? `${MODEL_NAMESPACE}#${this.code}` : this.code, message: this.message };
  }
}

export const invalidArn = (arn: string) => new SfnError('InvalidArn', `Invalid Arn: '${arn}'`);
export const invalidName = (name: string) => new SfnError('InvalidName', `Invalid Name: '${name}'`);
export const invalidToken = (token: string) => new SfnError('InvalidToken', `Invalid Token: '${token}'`);
export const invalidDefinition = (detail: string) =>
  new SfnError('InvalidDefinition', `Invalid State Machine Definition: '${detail}'`);
export const invalidExecutionInput = (detail: string) =>
  new SfnError('InvalidExecutionInput', `Invalid Execution Input: '${detail}'`);
export const validation = (message: string) => new SfnError('ValidationException', message);
export const executionDoesNotExist = (arn: string) =>
  new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
export const executionAlreadyExists = (arn: string) =>
  new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
/** AWS puts the redriveStatusReason in the message, so callers can log why. */
export const executionNotRedrivable = (reason: string) => new SfnError('ExecutionNotRedrivable', reason);
export const stateMachineDoesNotExist = (arn: string) =>
  new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
export const stateMachineAlreadyExists = (arn: string) =>
  new SfnError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
export const stateMachineDeleting = (arn: string) =>
  new SfnError('StateMachineDeleting', `State Machine is being deleted: '${arn}'`);
export const stateMachineTypeNotSupported = (message: string) =>
  new SfnError('StateMachineTypeNotSupported', message);

/** Common error for a caller whose credentials do not belong to this account. */
export const accessDenied = (message: string) => new SfnError('AccessDeniedException', message, 400, false);
export const throttling = () => new SfnError('ThrottlingException', 'Rate exceeded', 400, false);
export const serviceUnavailable = () =>
  new SfnError('ServiceUnavailable', 'Service is unavailable (injected fault)', 503, false);
export const unknownOperation = (target: string) =>
  new SfnError('UnknownOperationException', `Unknown operation: '${target}'`, 400, false);
export const serialization = (detail: string) => new SfnError('SerializationException', detail, 400, false);
export const internalFailure = (detail: string) => new SfnError('InternalFailure', detail, 500, false);
