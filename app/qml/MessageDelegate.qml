import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import GlmChatCore

// One message: Markdown (code blocks with a copy button, tables), its token count, and actions:
// copy, regenerate (assistant), edit (user: starts a branch), switch between branches.
Item {
    id: message
    required property int index
    required property var messageId
    required property string role
    required property string content
    required property int tokenCount
    required property string state
    required property int branchIndex
    required property int branchCount
    readonly property bool isUser: role === "user"
    // A tool call (assistant) or its result (observation) carries the tool's name in its metadata.
    readonly property string toolName: isUser ? "" : (state, ChatController.messageMetadata(messageId))
    property bool editing: false
    implicitHeight: column.implicitHeight

    ColumnLayout {
        id: column
        width: parent.width
        spacing: 4

        Label {
            visible: message.toolName === ""
            text: message.isUser ? qsTr("You") : qsTr("Assistant")
            font.bold: true
            color: Theme.mutedText
            Layout.alignment: message.isUser ? Qt.AlignRight : Qt.AlignLeft
        }

        Rectangle {
            id: bubble
            visible: !message.editing && message.toolName === ""
            Layout.alignment: message.isUser ? Qt.AlignRight : Qt.AlignLeft
            Layout.maximumWidth: message.isUser ? message.width * 0.85 : message.width
            Layout.preferredWidth: message.isUser ? Math.min(blocks.implicitWidth + 28, message.width * 0.85) : message.width
            implicitHeight: blocks.implicitHeight + (message.isUser ? 20 : 4)
            radius: Theme.radius * 1.5
            color: message.isUser ? Theme.userBubble : "transparent"

            ColumnLayout {
                id: blocks
                x: message.isUser ? 14 : 0
                y: message.isUser ? 10 : 2
                width: bubble.width - (message.isUser ? 28 : 0)
                spacing: 8
                Repeater {
                    model: ChatController.markdownBlocks(message.content)
                    delegate: Loader {
                        required property var modelData
                        Layout.fillWidth: true
                        sourceComponent: modelData.kind === "code" ? codeBlock : textBlock
                        property var block: modelData
                    }
                }
                // A reply that has not produced text yet.
                BusyIndicator {
                    visible: message.state === "streaming" && message.content.length === 0
                    running: visible
                    implicitWidth: 32
                    implicitHeight: 32
                }
            }
        }

        ToolCallCard {
            visible: message.toolName !== ""
            Layout.fillWidth: true
            role: message.role
            toolName: message.toolName
            content: message.content
            messageState: message.state
        }

        // Editing a sent message: the edit becomes a new branch, the old one stays reachable.
        ColumnLayout {
            visible: message.editing
            Layout.fillWidth: true
            TextArea {
                id: editArea
                Layout.fillWidth: true
                wrapMode: TextEdit.Wrap
                selectByMouse: true
                text: message.content
            }
            RowLayout {
                Layout.alignment: Qt.AlignRight
                Button { text: qsTr("Cancel"); flat: true; onClicked: message.editing = false }
                AccentButton {
                    text: qsTr("Send as new branch")
                    onClicked: { ChatController.editMessage(message.messageId, editArea.text); message.editing = false }
                }
            }
        }

        RowLayout {
            Layout.alignment: message.isUser ? Qt.AlignRight : Qt.AlignLeft
            spacing: 2
            visible: !message.editing && message.role !== "observation"
            opacity: hover.hovered || message.branchCount > 1 || message.state !== "done" ? 1.0 : 0.55

            ToolButton {
                visible: message.branchCount > 1
                text: "\u2039"
                enabled: message.branchIndex > 0 && !ChatController.generating
                onClicked: ChatController.switchBranch(message.messageId, -1)
                Accessible.name: qsTr("Previous branch")
            }
            Label {
                visible: message.branchCount > 1
                text: qsTr("%1 / %2").arg(message.branchIndex + 1).arg(message.branchCount)
                color: Theme.mutedText
            }
            ToolButton {
                visible: message.branchCount > 1
                text: "\u203a"
                enabled: message.branchIndex < message.branchCount - 1 && !ChatController.generating
                onClicked: ChatController.switchBranch(message.messageId, 1)
                Accessible.name: qsTr("Next branch")
            }
            ToolButton {
                text: qsTr("Copy")
                font.pixelSize: 12
                onClicked: ChatController.copyText(message.content)
            }
            ToolButton {
                visible: message.isUser
                text: qsTr("Edit")
                font.pixelSize: 12
                enabled: !ChatController.generating
                onClicked: { editArea.text = message.content; message.editing = true }
            }
            ToolButton {
                visible: !message.isUser
                text: qsTr("Regenerate")
                font.pixelSize: 12
                enabled: !ChatController.generating && ChatController.modelState === "ready"
                onClicked: ChatController.regenerate(message.messageId)
            }
            Label {
                visible: message.tokenCount > 0
                text: qsTr("%n tokens", "", message.tokenCount)
                color: Theme.mutedText
                font.pixelSize: 12
            }
            Label {
                visible: message.state === "stopped" || message.state === "error"
                text: message.state === "stopped" ? qsTr("stopped") : qsTr("failed")
                color: message.state === "error" ? Theme.danger : Theme.warning
                font.pixelSize: 12
            }
        }
    }
    HoverHandler { id: hover }

    Component {
        id: textBlock
        TextEdit {
            text: parent ? parent.block.text : ""
            textFormat: TextEdit.MarkdownText
            wrapMode: TextEdit.Wrap
            readOnly: true
            selectByMouse: true
            color: Theme.text
            selectionColor: Theme.accent
            font.pixelSize: 15
            onLinkActivated: (link) => Qt.openUrlExternally(link)
        }
    }
    Component {
        id: codeBlock
        Rectangle {
            id: code
            readonly property var block: parent ? parent.block : ({ text: "", language: "" })
            implicitHeight: header.height + codeText.implicitHeight + 16
            radius: Theme.radius
            color: Theme.codeBackground
            border.color: Theme.border
            Rectangle {
                id: header
                width: parent.width
                height: 30
                radius: Theme.radius
                color: Theme.codeHeader
                Label {
                    anchors.left: parent.left
                    anchors.leftMargin: 10
                    anchors.verticalCenter: parent.verticalCenter
                    text: code.block.language.length > 0 ? code.block.language : qsTr("code")
                    color: Theme.mutedText
                    font.pixelSize: 12
                }
                ToolButton {
                    id: copyButton
                    anchors.right: parent.right
                    anchors.verticalCenter: parent.verticalCenter
                    height: 30
                    font.pixelSize: 12
                    property bool copied: false
                    text: copied ? qsTr("Copied") : qsTr("Copy code")
                    onClicked: { ChatController.copyText(code.block.text); copied = true; resetCopied.restart() }
                    Timer { id: resetCopied; interval: 1500; onTriggered: copyButton.copied = false }
                }
            }
            TextEdit {
                id: codeText
                anchors.top: header.bottom
                anchors.left: parent.left
                anchors.right: parent.right
                anchors.margins: 8
                text: code.block.text
                textFormat: TextEdit.PlainText
                wrapMode: TextEdit.WrapAnywhere
                readOnly: true
                selectByMouse: true
                font.family: Theme.monoFont
                font.pixelSize: 13
                color: Theme.text
                selectionColor: Theme.accent
            }
        }
    }
}
